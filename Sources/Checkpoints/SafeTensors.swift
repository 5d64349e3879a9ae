/// Facts of the safetensors format (huggingface/safetensors) shared by the writer and the reader.
///
/// A file is: an 8-byte little-endian unsigned header length N; N bytes of UTF-8 JSON mapping each
/// tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets into the data
/// section), plus an optional `"__metadata__"` object of strings; then the data section: the
/// tensors' little-endian, row-major bytes, packed with no gaps or overlaps. Writers pad the header
/// with spaces to a multiple of 8 bytes so that the data section, and with the ordering by
/// decreasing alignment every tensor in it, is aligned.
public enum SafeTensors {
    /// The header key that holds the file's string metadata instead of a tensor.
    public static let metadataKey = "__metadata__"

    /// The largest header accepted, as in the reference reader: a corrupt length must not make the
    /// reader allocate or trust gigabytes.
    public static let maximumHeaderLength = 100_000_000

    /// The header is padded to a multiple of this many bytes.
    static let headerAlignment = 8

    /// Bytes of a tensor of this shape and dtype; nil on overflow.
    static func byteCount(shape: [Int], dtype: DType) -> Int? {
        var count = dtype.size
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            count = product
        }
        return count
    }
}

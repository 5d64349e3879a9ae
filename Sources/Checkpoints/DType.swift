// The code below assumes that memory order is the file's order. Every platform Swift and Open MPI
// run on here (x86-64, arm64) is little-endian; a big-endian port would need byte swaps in
// `NamedTensor` and would fail to build here first, rather than write wrong files.
#if !_endian(little)
#error("Checkpoints reads and writes tensors in memory order, which must be little-endian like safetensors")
#endif

/// The element types of the safetensors format, spelled as in its header (`"F32"`, `"I64"`, …).
///
/// Every whole-byte type of the format is known, so that any file written by the reference
/// implementation can be opened and inspected; typed access (`values(as:)`) exists for the types
/// that have a Swift scalar (see `SafeTensorsElement`). The sub-byte types (`F4`, `F6_*`) are not
/// supported: their byte count is not `elements × size`, and nothing here produces them.
public enum DType: String, CaseIterable, Sendable {
    case bool = "BOOL"
    case uint8 = "U8"
    case int8 = "I8"
    case float8E5M2 = "F8_E5M2"
    case float8E4M3 = "F8_E4M3"
    case float8E8M0 = "F8_E8M0"
    case float8E4M3FNUZ = "F8_E4M3FNUZ"
    case float8E5M2FNUZ = "F8_E5M2FNUZ"
    case int16 = "I16"
    case uint16 = "U16"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case int32 = "I32"
    case uint32 = "U32"
    case float32 = "F32"
    case complex64 = "C64"
    case float64 = "F64"
    case int64 = "I64"
    case uint64 = "U64"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .bool, .uint8, .int8, .float8E5M2, .float8E4M3, .float8E8M0, .float8E4M3FNUZ, .float8E5M2FNUZ: 1
        case .int16, .uint16, .float16, .bfloat16: 2
        case .int32, .uint32, .float32: 4
        case .complex64, .float64, .int64, .uint64: 8
        }
    }

    /// The position of the type in the reference implementation's `Dtype` enum, which lists the
    /// types by increasing alignment. Its writer stores tensors by decreasing rank, then by name, so
    /// that every tensor starts at a multiple of its element size; `SafeTensorsWriter` does the same,
    /// which also makes our tensor layout byte-identical to Python's `save_file`.
    var layoutRank: Int {
        switch self {
        case .bool: 0
        case .uint8: 4
        case .int8: 5
        case .float8E5M2: 6
        case .float8E4M3: 7
        case .float8E8M0: 8
        case .float8E4M3FNUZ: 9
        case .float8E5M2FNUZ: 10
        case .int16: 11
        case .uint16: 12
        case .float16: 13
        case .bfloat16: 14
        case .int32: 15
        case .uint32: 16
        case .float32: 17
        case .complex64: 18
        case .float64: 19
        case .int64: 20
        case .uint64: 21
        }
    }
}

/// A Swift scalar stored in a safetensors file as `dtype`, bit for bit in memory order.
public protocol SafeTensorsElement: BitwiseCopyable, Sendable {
    static var dtype: DType { get }
}

extension Float: SafeTensorsElement { public static var dtype: DType { .float32 } }
extension Double: SafeTensorsElement { public static var dtype: DType { .float64 } }
extension Int64: SafeTensorsElement { public static var dtype: DType { .int64 } }
extension UInt64: SafeTensorsElement { public static var dtype: DType { .uint64 } }
extension Int32: SafeTensorsElement { public static var dtype: DType { .int32 } }
extension UInt32: SafeTensorsElement { public static var dtype: DType { .uint32 } }
extension Int16: SafeTensorsElement { public static var dtype: DType { .int16 } }
extension UInt16: SafeTensorsElement { public static var dtype: DType { .uint16 } }
extension Int8: SafeTensorsElement { public static var dtype: DType { .int8 } }
extension UInt8: SafeTensorsElement { public static var dtype: DType { .uint8 } }

/// Why a dataset could not be loaded. The description names the file and what is wrong with it,
/// so that the message a user sees (`batchaug-dist: <description>`) is enough to fix the problem.
public struct DatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Problem: Equatable, Sendable {
        /// The file (or directory) does not exist.
        case missingFile
        /// open/read failed for another reason (permissions, a directory where a file should be…).
        case unreadable(reason: String)
        /// The file's size does not fit the format.
        case wrongSize(actual: Int, expected: String)
        /// The file ended before the bytes its header promises.
        case truncated(actual: Int, expected: Int)
        /// The first bytes are not the format's magic number.
        case badMagic(actual: UInt32, expected: UInt32)
        /// The header's image geometry is not the dataset's.
        case wrongDimensions(actual: String, expected: String)
        /// A label byte is not a class of the dataset.
        case labelOutOfRange(record: Int, label: Int, classes: Int)
        /// The images file and the labels file hold different numbers of records.
        case countMismatch(images: Int, labels: Int, labelsFile: String)
        /// The gzip stream ends before its end marker.
        case truncatedGzip(compressedBytes: Int)
        /// zlib rejected the stream (bad header, bad data, CRC mismatch).
        case corruptGzip(reason: String)
        /// The request itself cannot be satisfied (a rank out of range, an empty split…).
        case invalidRequest(String)
        /// An image file of 0 bytes.
        case emptyFile
        /// A sample file that is neither JPEG nor PNG; `kind` names what it looks like, if known.
        case notAnImage(firstBytes: [UInt8], kind: String?)
        /// The decoder refused the image (`format`: JPEG or PNG; `reason`: the library's words).
        case corruptImage(format: String, reason: String)
        /// The header claims more pixels than `--max-image-pixels` allows; refused before allocating.
        case tooManyPixels(width: Int, height: Int, limit: Int)
        /// A file larger than any image within `--max-image-pixels` could be (refused before reading it).
        case tooLarge(bytes: Int, limit: Int)
        /// A directory or shard set not laid out as a dataset (a class missing from val/, an empty
        /// class, a symbolic link loop, a shard that disagrees with its index…): the sentence says
        /// what is wrong and what to do.
        case layout(String)
    }

    /// The file (or directory) concerned.
    public let path: String
    public let problem: Problem

    public init(path: String, _ problem: Problem) {
        self.path = path
        self.problem = problem
    }

    public var description: String {
        switch problem {
        case .missingFile:
            "\(path): missing file"
        case .unreadable(let reason):
            "\(path): cannot read: \(reason)"
        case .wrongSize(let actual, let expected):
            "\(path): wrong size: \(actual) bytes, expected \(expected)"
        case .truncated(let actual, let expected):
            "\(path): truncated: \(actual) bytes, the header promises \(expected)"
        case .badMagic(let actual, let expected):
            "\(path): bad magic number 0x\(hex(actual)), expected 0x\(hex(expected))"
        case .wrongDimensions(let actual, let expected):
            "\(path): wrong image dimensions \(actual), expected \(expected)"
        case .labelOutOfRange(let record, let label, let classes):
            "\(path): label \(label) of record \(record) is out of range (\(classes) classes: 0…\(classes - 1))"
        case .countMismatch(let images, let labels, let labelsFile):
            "\(path): holds \(images) images but \(labelsFile) holds \(labels) labels"
        case .truncatedGzip(let compressedBytes):
            "\(path): truncated gzip stream: it ends after \(compressedBytes) compressed bytes, before its end marker"
        case .corruptGzip(let reason):
            "\(path): corrupt gzip stream: \(reason)"
        case .invalidRequest(let reason):
            "\(path): \(reason)"
        case .emptyFile:
            "\(path): empty file (0 bytes): \(Self.replaceOrRemove)"
        case .notAnImage(let bytes, let kind):
            "\(path): not a JPEG or PNG image (it begins with \(bytes.map { hexByte($0) }.joined(separator: " "))"
                + (kind.map { ", which looks like \($0)" } ?? "") + "): convert it to JPEG or PNG, or "
                + Self.replaceOrRemove
        case .corruptImage(let format, let reason):
            "\(path): corrupt \(format) image (\(reason)): \(Self.replaceOrRemove)"
        case .tooManyPixels(let width, let height, let limit):
            "\(path): \(width)×\(height) = \(width * height) pixels, more than --max-image-pixels \(limit) allows "
                + "(a guard against decompression bombs; nothing was allocated): shrink the image, or raise "
                + "--max-image-pixels if it is genuine"
        case .tooLarge(let bytes, let limit):
            "\(path): \(bytes) bytes, more than any image of at most --max-image-pixels pixels can take (\(limit) bytes; "
                + "nothing was read): shrink the image, raise --max-image-pixels if it is genuine, or remove it"
        case .layout(let sentence):
            "\(path): \(sentence)"
        }
    }

    /// What to do about a bad image file.
    static let replaceOrRemove = "replace it with a good copy or remove it (`batchaug-dist data check DIR` lists every bad file)"
}

private func hexByte(_ byte: UInt8) -> String {
    let digits = String(byte, radix: 16)
    return digits.count == 1 ? "0" + digits : digits
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
}

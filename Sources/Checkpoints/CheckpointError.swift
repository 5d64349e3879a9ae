/// Why a tensor file or a checkpoint could not be written or read. The description names the file
/// (or directory) and what is wrong with it, so that the message a user sees is enough to act on.
public struct CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Problem: Equatable, Sendable {
        // MARK: Files and directories

        /// The file or directory does not exist.
        case missing
        /// A system call failed: `operation` is what was being done, `reason` the system's words.
        case io(operation: String, reason: String)

        // MARK: The safetensors container

        /// Shorter than the 8-byte header length.
        case tooShort(bytes: Int)
        /// The header length is larger than any real header (the reference reader's limit).
        case headerTooLarge(length: UInt64, limit: Int)
        /// The header length points past the end of the file: the file is truncated or not safetensors.
        case headerPastEnd(headerLength: UInt64, fileBytes: Int)
        /// The header is not UTF-8 JSON, or not a JSON object.
        case badHeader(reason: String)
        /// `__metadata__` is not an object of strings.
        case badMetadata(reason: String)
        /// A tensor's entry lacks a field or has one of the wrong type.
        case badTensorEntry(tensor: String, reason: String)
        /// A dtype this reader does not know.
        case unknownDType(tensor: String, dtype: String)
        /// `data_offsets` span a different number of bytes than shape × dtype size.
        case byteCountMismatch(tensor: String, shape: [Int], dtype: DType, expected: Int, actual: Int)
        /// A tensor's bytes lie (partly) outside the data section: usually a truncated file.
        case offsetsOutOfRange(tensor: String, begin: Int, end: Int, dataBytes: Int)
        /// Two tensors share bytes.
        case overlap(tensor: String, previous: String)
        /// Unused bytes before a tensor (the format requires tensors to be packed).
        case gap(tensor: String, begin: Int, expected: Int)
        /// Bytes after the last tensor.
        case trailingBytes(count: Int)

        // MARK: Tensors

        /// A tensor that cannot be written as given (empty or reserved name, duplicate, negative
        /// dimension, byte count that does not match the shape).
        case invalidTensor(tensor: String, reason: String)
        /// A tensor the caller needs is not in the file.
        case tensorMissing(tensor: String)
        case shapeMismatch(tensor: String, expected: [Int], actual: [Int])
        case dtypeMismatch(tensor: String, expected: DType, actual: DType)
        /// The caller's buffer holds a different number of elements than the tensor.
        case elementCountMismatch(tensor: String, expected: Int, actual: Int)

        // MARK: Checkpoint directories

        /// `checkpoint.json` is not valid JSON or lacks a field.
        case badJSON(reason: String)
        /// `checkpoint.sha256` is not in `sha256sum`'s format or lacks a file.
        case badChecksums(reason: String)
        /// Written by a newer (or unknown) version of the format.
        case unsupportedFormatVersion(found: Int, supported: Int)
        /// The checkpoint was not finished: no `checkpoint.json`, or it does not say `complete`.
        case incomplete(reason: String)
        /// The tensor file's size differs from the one recorded when it was written.
        case sizeMismatch(file: String, recorded: Int, actual: Int)
        /// The tensor file's SHA-256 differs from the one recorded when it was written.
        case checksumMismatch(file: String, recorded: String, actual: String)
        /// No checkpoint at all where one was looked for.
        case noCheckpoint(looked: [String])
        /// Checkpoints exist but none is complete; each one's problem.
        case noCompleteCheckpoint(problems: [CheckpointError])
    }

    /// The file or directory concerned.
    public let path: String
    public let problem: Problem

    public init(path: String, _ problem: Problem) {
        self.path = path
        self.problem = problem
    }

    /// "path: what is wrong", or only what is wrong for a tensor that has no file yet.
    public var description: String { path.isEmpty ? explanation : "\(path): \(explanation)" }

    private var explanation: String {
        switch problem {
        case .missing:
            "does not exist"
        case .io(let operation, let reason):
            "cannot \(operation): \(reason)"
        case .tooShort(let bytes):
            "not a safetensors file: \(bytes) bytes, shorter than the 8-byte header length"
        case .headerTooLarge(let length, let limit):
            "not a safetensors file: header length \(length) exceeds the limit of \(limit) bytes"
        case .headerPastEnd(let headerLength, let fileBytes):
            "truncated or not a safetensors file: the header length \(headerLength) runs past the end "
                + "of the file (\(fileBytes) bytes)"
        case .badHeader(let reason):
            "bad safetensors header: \(reason)"
        case .badMetadata(let reason):
            "bad safetensors __metadata__: \(reason)"
        case .badTensorEntry(let tensor, let reason):
            "bad header entry for tensor \"\(tensor)\": \(reason)"
        case .unknownDType(let tensor, let dtype):
            "tensor \"\(tensor)\" has unknown dtype \"\(dtype)\" (known: "
                + DType.allCases.map(\.rawValue).joined(separator: ", ") + ")"
        case .byteCountMismatch(let tensor, let shape, let dtype, let expected, let actual):
            "tensor \"\(tensor)\" spans \(actual) bytes, but shape \(shape) of \(dtype.rawValue) needs \(expected)"
        case .offsetsOutOfRange(let tensor, let begin, let end, let dataBytes):
            "truncated or corrupt: tensor \"\(tensor)\" occupies bytes \(begin)..<\(end) of a data section "
                + "of \(dataBytes) bytes"
        case .overlap(let tensor, let previous):
            "tensors \"\(previous)\" and \"\(tensor)\" overlap"
        case .gap(let tensor, let begin, let expected):
            "unused bytes before tensor \"\(tensor)\": it begins at \(begin), the previous tensor ends at \(expected)"
        case .trailingBytes(let count):
            "\(count) bytes after the last tensor"
        case .invalidTensor(let tensor, let reason):
            "cannot store tensor \"\(tensor)\": \(reason)"
        case .tensorMissing(let tensor):
            "no tensor \"\(tensor)\""
        case .shapeMismatch(let tensor, let expected, let actual):
            "tensor \"\(tensor)\" has shape \(actual), expected \(expected)"
        case .dtypeMismatch(let tensor, let expected, let actual):
            "tensor \"\(tensor)\" is \(actual.rawValue), expected \(expected.rawValue)"
        case .elementCountMismatch(let tensor, let expected, let actual):
            "tensor \"\(tensor)\" has \(actual) elements, the destination holds \(expected)"
        case .badJSON(let reason):
            "bad JSON: \(reason)"
        case .badChecksums(let reason):
            "bad checksum file: \(reason)"
        case .unsupportedFormatVersion(let found, let supported):
            "checkpoint format version \(found) is not supported (this build reads up to version \(supported))"
        case .incomplete(let reason):
            "incomplete checkpoint: \(reason)"
        case .sizeMismatch(let file, let recorded, let actual):
            "\(file) is \(actual) bytes, but the checkpoint recorded \(recorded): the file is corrupt"
        case .checksumMismatch(let file, let recorded, let actual):
            "\(file) has SHA-256 \(actual), but the checkpoint recorded \(recorded): the file is corrupt"
        case .noCheckpoint(let looked):
            "no checkpoint here (looked for " + looked.joined(separator: ", ") + ")"
        case .noCompleteCheckpoint(let problems):
            "no complete checkpoint: " + problems.map(\.description).joined(separator: "; ")
        }
    }
}

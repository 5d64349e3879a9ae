import Foundation
import JSON

/// A safetensors file read and validated: its tensors, in file order, and its metadata.
///
/// Validation is complete, so that a file that loads is a file whose every byte is accounted for:
/// the header length is sane and within the file, the header is a JSON object, every entry has a
/// known dtype, a shape of non-negative integers and offsets whose span is exactly shape × dtype
/// size, and the tensors tile the data section from its first byte to the file's last, with no
/// gap or overlap. Any failure is a `CheckpointError` naming the file and the problem.
public struct SafeTensorsFile: Sendable {
    /// Where the file was read from (or the name given to `parse`).
    public let path: String
    /// The tensors in the order of their bytes in the file.
    public let tensors: [NamedTensor]
    /// The `__metadata__` strings (empty if the file has none).
    public let metadata: [String: String]
    private let index: [String: Int]

    /// Reads and validates the file at `url`.
    public init(contentsOf url: URL) throws {
        try self.init(parsing: FileSystem.readAll(url.path), path: url.path)
    }

    /// Validates the bytes of a whole file; `path` names it in errors. The tensors share `bytes`
    /// rather than copy out of it.
    public init(parsing bytes: [UInt8], path: String) throws {
        func fail(_ problem: CheckpointError.Problem) -> CheckpointError { CheckpointError(path: path, problem) }

        guard bytes.count >= 8 else { throw fail(.tooShort(bytes: bytes.count)) }
        let headerLength = bytes[0 ..< 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard headerLength <= SafeTensors.maximumHeaderLength else {
            throw fail(.headerTooLarge(length: headerLength, limit: SafeTensors.maximumHeaderLength))
        }
        let dataStart = 8 + Int(headerLength)
        guard dataStart <= bytes.count else { throw fail(.headerPastEnd(headerLength: headerLength, fileBytes: bytes.count)) }

        let header: [String: JSONValue]
        do {
            guard let object = try JSONValue(parsing: Data(bytes[8 ..< dataStart])).objectValue else {
                throw fail(.badHeader(reason: "not a JSON object"))
            }
            header = object
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw fail(.badHeader(reason: "not valid UTF-8 JSON"))
        }

        var metadata: [String: String] = [:]
        if let value = header[SafeTensors.metadataKey] {
            guard let object = value.objectValue else { throw fail(.badMetadata(reason: "\(value.kindDescription), not an object")) }
            for (key, value) in object {
                guard case .string(let string) = value else {
                    throw fail(.badMetadata(reason: "\"\(key)\" is \(value.kindDescription), not a string"))
                }
                metadata[key] = string
            }
        }

        let dataBytes = bytes.count - dataStart
        var entries: [(name: String, dtype: DType, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in header where name != SafeTensors.metadataKey {
            let entry = try Self.entry(name, value, dataBytes: dataBytes, fail: fail)
            entries.append((name, entry.dtype, entry.shape, entry.begin, entry.end))
        }

        // Tile the data section: sorted by offsets, each tensor must begin where the previous ended.
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var expected = 0
        var previous = ""
        for entry in entries {
            if entry.begin < expected { throw fail(.overlap(tensor: entry.name, previous: previous)) }
            if entry.begin > expected { throw fail(.gap(tensor: entry.name, begin: entry.begin, expected: expected)) }
            expected = entry.end
            previous = entry.name
        }
        if expected != dataBytes { throw fail(.trailingBytes(count: dataBytes - expected)) }

        var tensors: [NamedTensor] = []
        for entry in entries {
            let slice = bytes[dataStart + entry.begin ..< dataStart + entry.end]
            tensors.append(try NamedTensor(name: entry.name, dtype: entry.dtype, shape: entry.shape, bytes: slice, source: path))
        }
        self.path = path
        self.tensors = tensors
        self.metadata = metadata
        self.index = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    /// The tensor named `name`, or a `tensorMissing` error naming the file.
    public func tensor(named name: String) throws -> NamedTensor {
        guard let position = index[name] else { throw CheckpointError(path: path, .tensorMissing(tensor: name)) }
        return tensors[position]
    }

    /// One header entry, checked on its own: fields, dtype, shape, byte count, range.
    private static func entry(_ name: String, _ value: JSONValue, dataBytes: Int,
                              fail: (CheckpointError.Problem) -> CheckpointError) throws
        -> (dtype: DType, shape: [Int], begin: Int, end: Int) {
        func bad(_ reason: String) -> CheckpointError { fail(.badTensorEntry(tensor: name, reason: reason)) }
        guard let fields = value.objectValue else { throw bad("\(value.kindDescription), not an object") }
        guard case .string(let dtypeName)? = fields["dtype"] else { throw bad("no \"dtype\" string") }
        guard case .array(let shapeValues)? = fields["shape"] else { throw bad("no \"shape\" array") }
        guard case .array(let offsetValues)? = fields["data_offsets"] else { throw bad("no \"data_offsets\" array") }
        guard let dtype = DType(rawValue: dtypeName) else { throw fail(.unknownDType(tensor: name, dtype: dtypeName)) }
        let shape = shapeValues.compactMap(\.nonNegativeInt)
        guard shape.count == shapeValues.count else { throw bad("the shape is not a list of non-negative integers") }
        let offsets = offsetValues.compactMap(\.nonNegativeInt)
        guard offsets.count == 2, offsetValues.count == 2, offsets[0] <= offsets[1] else {
            throw bad("\"data_offsets\" is not [begin, end] with 0 <= begin <= end")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard let expected = SafeTensors.byteCount(shape: shape, dtype: dtype) else { throw bad("the shape \(shape) is too large") }
        if end - begin != expected {
            throw fail(.byteCountMismatch(tensor: name, shape: shape, dtype: dtype, expected: expected, actual: end - begin))
        }
        if end > dataBytes { throw fail(.offsetsOutOfRange(tensor: name, begin: begin, end: end, dataBytes: dataBytes)) }
        return (dtype, shape, begin, end)
    }
}

/// A short description of a decoding error, without Swift's coding-path noise.
func describe(_ error: any Error) -> String {
    switch error {
    case DecodingError.dataCorrupted(let context):
        // Foundation's own words ("The given data was not valid JSON.") say no more than this.
        let detail = (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String
        return detail.map { "not valid JSON: \($0)" } ?? "not valid JSON"
    case DecodingError.keyNotFound(let key, let context):
        return "missing field \"\(path(context.codingPath + [key]))\""
    case DecodingError.typeMismatch(let type, let context):
        return "field \"\(path(context.codingPath))\" is not of type \(type)"
    case DecodingError.valueNotFound(let type, let context):
        return "field \"\(path(context.codingPath))\" is null, expected \(type)"
    default:
        return "\(error)"
    }
}

private func path(_ keys: [any CodingKey]) -> String {
    keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
}

import Foundation

/// Collects named tensors and string metadata and writes them as one safetensors file.
///
/// The layout is the reference writer's: tensors ordered by decreasing alignment of their dtype,
/// then by name (byte order); the header is compact JSON with `__metadata__` first (keys sorted),
/// padded with spaces to a multiple of 8 bytes. The same tensors and metadata therefore always give
/// the same bytes — the same as Python's `safetensors.numpy.save_file` (which orders metadata keys
/// at random, so for more than one key only up to their order).
public struct SafeTensorsWriter: Sendable {
    public private(set) var tensors: [NamedTensor] = []
    public var metadata: [String: String]
    private var names: Set<String> = []

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    public init(tensors: [NamedTensor], metadata: [String: String] = [:]) throws {
        self.metadata = metadata
        for tensor in tensors { try add(tensor) }
    }

    /// Adds a tensor; names must be unique.
    public mutating func add(_ tensor: NamedTensor) throws {
        guard names.insert(tensor.name).inserted else {
            throw CheckpointError(path: "", .invalidTensor(tensor: tensor.name, reason: "a tensor of this name was already added"))
        }
        tensors.append(tensor)
    }

    /// Adds a copy of `values` (e.g. a layer's slice of the flat parameter buffer) as `name`.
    public mutating func add<T: SafeTensorsElement>(_ name: String, shape: [Int],
                                                   copying values: UnsafeBufferPointer<T>) throws {
        try add(NamedTensor(name: name, shape: shape, copying: values))
    }

    /// The whole file in memory.
    public func serialized() -> [UInt8] {
        let (header, ordered) = layout()
        var bytes = header
        bytes.reserveCapacity(header.count + ordered.reduce(0) { $0 + $1.byteCount })
        for tensor in ordered { bytes += tensor.bytes }
        return bytes
    }

    /// Writes the file at `url` (replacing any file there) straight from the tensors' buffers, and
    /// with `sync` makes it durable. Returns its size and SHA-256, computed from the bytes as they
    /// are written, so the file is not read back.
    @discardableResult
    public func write(to url: URL, sync: Bool = true) throws -> FileDigest {
        let (header, ordered) = layout()
        var hasher = SHA256()
        var size = 0
        try FileSystem.writeFile(url.path, sync: sync) { write in
            func emit(_ chunk: UnsafeRawBufferPointer) throws {
                hasher.update(chunk)
                size += chunk.count
                try write(chunk)
            }
            try header.withUnsafeBytes(emit)
            for tensor in ordered { try tensor.withUnsafeBytes(emit) }
        }
        return FileDigest(bytes: size, sha256: hasher.finalizeHex())
    }

    /// The 8-byte length and the padded JSON header, and the tensors in file order.
    private func layout() -> (header: [UInt8], ordered: [NamedTensor]) {
        let ordered = tensors.sorted { a, b in
            if a.dtype.layoutRank != b.dtype.layoutRank { return a.dtype.layoutRank > b.dtype.layoutRank }
            return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
        var json: [UInt8] = []
        var separator: [UInt8] = []
        func member(_ key: String, _ value: [UInt8]) {
            json += separator + Array(jsonString(key).utf8) + Array(":".utf8) + value
            separator = Array(",".utf8)
        }
        json += Array("{".utf8)
        if !metadata.isEmpty {
            let entries = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            let object = "{" + entries.map { "\(jsonString($0.key)):\(jsonString($0.value))" }.joined(separator: ",") + "}"
            member(SafeTensors.metadataKey, Array(object.utf8))
        }
        var offset = 0
        for tensor in ordered {
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            let entry = "{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],"
                + "\"data_offsets\":[\(offset),\(offset + tensor.byteCount)]}"
            member(tensor.name, Array(entry.utf8))
            offset += tensor.byteCount
        }
        json += Array("}".utf8)
        let padding = (SafeTensors.headerAlignment - json.count % SafeTensors.headerAlignment) % SafeTensors.headerAlignment
        json += [UInt8](repeating: UInt8(ascii: " "), count: padding)
        let length = UInt64(json.count)
        let prefix = (0 ..< 8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) }
        return (prefix + json, ordered)
    }
}

/// The size and SHA-256 (lowercase hexadecimal, as `sha256sum` prints it) of a written file.
public struct FileDigest: Equatable, Sendable {
    public let bytes: Int
    public let sha256: String
}

/// A JSON string literal as the reference writer (serde_json) spells it: `"` and `\` escaped, the
/// usual short escapes, `\u00XX` for the other control characters, everything else as UTF-8.
func jsonString(_ string: String) -> String {
    var out = "\""
    for scalar in string.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case _ where scalar.value < 0x20:
            out += "\\u00" + String(scalar.value >> 4, radix: 16) + String(scalar.value & 15, radix: 16)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

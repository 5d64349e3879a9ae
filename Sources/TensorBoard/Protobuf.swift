/// Protocol-buffer wire format, only as much as `Event` needs.
enum WireType: UInt64 {
    case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
}

struct ProtobufWriter {
    var bytes: [UInt8] = []

    mutating func key(_ field: Int, _ wire: WireType) { appendVarint(UInt64(field) << 3 | wire.rawValue) }

    mutating func appendVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func varint(_ field: Int, _ value: UInt64) {
        key(field, .varint)
        appendVarint(value)
    }

    mutating func double(_ field: Int, _ value: Double) {
        key(field, .fixed64)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func float(_ field: Int, _ value: Float) {
        key(field, .fixed32)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        key(field, .lengthDelimited)
        appendVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }
}

struct ProtobufReader {
    let data: [UInt8]
    var position = 0

    init(_ data: [UInt8]) { self.data = data }

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    /// The next field number and wire type, or nil at the end.
    mutating func key() throws -> (Int, WireType)? {
        guard position < data.count else { return nil }
        let key = try varint()
        guard let wire = WireType(rawValue: key & 7) else { throw Malformed(description: "wire type \(key & 7)") }
        return (Int(key >> 3), wire)
    }

    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            guard position < data.count else { throw Malformed(description: "truncated varint") }
            let byte = data[position]
            position += 1
            value |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte < 0x80 { return value }
        }
        throw Malformed(description: "varint longer than 10 bytes")
    }

    mutating func fixed64() throws -> UInt64 {
        try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func fixed32() throws -> UInt32 {
        try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func bytes() throws -> [UInt8] {
        let count = try varint()
        guard count <= UInt64(data.count - position) else { throw Malformed(description: "truncated field") }
        return Array(try take(Int(count)))
    }

    mutating func skip(_ wire: WireType) throws {
        switch wire {
        case .varint: _ = try varint()
        case .fixed64: _ = try take(8)
        case .fixed32: _ = try take(4)
        case .lengthDelimited: _ = try bytes()
        }
    }

    private mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count <= data.count - position else { throw Malformed(description: "truncated field") }
        defer { position += count }
        return data[position ..< position + count]
    }
}

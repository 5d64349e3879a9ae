import Foundation

/// Any JSON value: the project's one JSON type (configurations, checkpoint descriptions,
/// safetensors headers, the lines of metrics.jsonl and of benchmark output).
///
/// Integers are kept apart from floating-point numbers so that 64-bit counters and seeds survive a
/// round trip exactly (a `Double` would round them above 2^53). Decoding gives the canonical form:
/// a number without a fraction is `.integer` (or `.unsignedInteger` above `Int64.max`), any other
/// number is `.double`. JSON has no NaN or infinity: a non-finite `.double` is written as `null`.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case unsignedInteger(UInt64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Bool before the numbers (JSONDecoder never reads `true` as 1), integers before Double.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(UInt64.self) {
            self = .unsignedInteger(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .unsignedInteger(let value): try container.encode(value)
        case .double(let value): if value.isFinite { try container.encode(value) } else { try container.encodeNil() }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension JSONValue {
    /// A JSON number in the canonical form decoding gives: `.integer` when `value` is a whole
    /// number that fits in `Int64`, `.double` otherwise. (A `Double` holds integers exactly only up
    /// to 2^53: pass 64-bit seeds and counters as `.integer` or `.unsignedInteger`.)
    public static func number(_ value: Double) -> JSONValue {
        if let exact = Int64(exactly: value) { .integer(exact) } else { .double(value) }
    }

    public static func number(_ value: Int) -> JSONValue { .integer(Int64(value)) }

    /// The JSON form of any `Encodable` value — e.g. the resolved training configuration, to be
    /// stored in a checkpoint and compared or decoded again on resume. Integers of any width stay
    /// exact; non-finite floating-point values become `.double(nan)` or `.double(±infinity)`.
    public init(encoding value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: Self.nonFinite[0], negativeInfinity: Self.nonFinite[1], nan: Self.nonFinite[2])
        self = try JSONDecoder().decode(JSONValue.self, from: encoder.encode(value)).restoringNonFinite()
    }

    /// Stand-ins for +∞, −∞ and NaN while a value passes through JSON text (no text of ours holds U+0000).
    private static let nonFinite = ["\u{0}+inf", "\u{0}-inf", "\u{0}nan"]

    private func restoringNonFinite() -> JSONValue {
        switch self {
        case .string(let text) where text.hasPrefix("\u{0}"):
            switch text {
            case Self.nonFinite[0]: .double(.infinity)
            case Self.nonFinite[1]: .double(-.infinity)
            case Self.nonFinite[2]: .double(.nan)
            default: self
            }
        case .array(let values): .array(values.map { $0.restoringNonFinite() })
        case .object(let members): .object(members.mapValues { $0.restoringNonFinite() })
        default: self
        }
    }

    /// Decodes a `Decodable` value from this JSON (the inverse of `init(encoding:)`).
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: JSONEncoder().encode(self))
    }

    /// Parses JSON text.
    public init(parsing data: Data) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// Compact JSON text with sorted keys: equal values give equal text.
    public func jsonText() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// The members of an object, or nil for any other value.
    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { members } else { nil }
    }

    /// The value of a non-negative integer that fits in `Int`, or nil.
    public var nonNegativeInt: Int? {
        switch self {
        case .integer(let value) where value >= 0: Int(exactly: value)
        case .unsignedInteger(let value): Int(exactly: value)
        default: nil
        }
    }

    /// A few words for error messages: what kind of value this is.
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer(let value): "the integer \(value)"
        case .unsignedInteger(let value): "the integer \(value)"
        case .double(let value): "the number \(value)"
        case .string(let value): "the string \"\(value)\""
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements) { _, last in last })
    }
}

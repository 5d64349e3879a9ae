/// One JSON object on one line (JSON Lines), its keys in the order they were added: the records
/// of metrics.jsonl and the output of `bench … --json`. Keys and values are written by
/// `JSONEncoder` (through `JSONValue`), so strings are escaped and non-finite numbers are `null`.
public struct JSONLine: Sendable {
    public private(set) var fields: [(key: String, value: JSONValue)] = []

    public init() {}

    public init(_ fields: [(key: String, value: JSONValue)]) { self.fields = fields }

    public func add(_ key: String, _ value: JSONValue) -> JSONLine {
        var copy = self
        copy.fields.append((key, value))
        return copy
    }

    public func add(_ key: String, _ value: String) -> JSONLine { add(key, .string(value)) }
    public func add(_ key: String, _ value: Int) -> JSONLine { add(key, .integer(Int64(value))) }
    public func add(_ key: String, _ value: Bool) -> JSONLine { add(key, .bool(value)) }
    public func add(_ key: String, _ value: Double) -> JSONLine { add(key, .double(value)) }

    /// The object as compact text, without a newline.
    public func render() -> String {
        "{" + fields.map { JSONValue.string($0.key).text + ":" + $0.value.text }.joined(separator: ",") + "}"
    }
}

extension JSONValue {
    /// `jsonText()` for values that cannot fail to encode (every value can: non-finite numbers are null).
    fileprivate var text: String { (try? jsonText()) ?? "null" }
}

/// One JSON object on one line, keys in insertion order.
public struct JSONLine {
    private var fields: [String] = []

    public init() {}

    public func add(_ key: String, _ value: String) -> JSONLine { adding(key, quoted(value)) }
    public func add(_ key: String, _ value: Int) -> JSONLine { adding(key, "\(value)") }
    public func add(_ key: String, _ value: Bool) -> JSONLine { adding(key, value ? "true" : "false") }
    public func add(_ key: String, _ value: Double) -> JSONLine {
        adding(key, value.isFinite ? "\(value)" : "null")
    }

    public func render() -> String { "{" + fields.joined(separator: ",") + "}" }

    private func adding(_ key: String, _ rendered: String) -> JSONLine {
        var copy = self
        copy.fields.append(quoted(key) + ":" + rendered)
        return copy
    }

    private func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}


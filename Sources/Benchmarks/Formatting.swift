/// A left-aligned text table with columns sized to their widest cell.
public struct TextTable {
    private var rows: [[String]]

    public init(header: [String]) { rows = [header] }

    public mutating func append(_ row: [String]) { rows.append(row) }

    public func render() -> String {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0 ..< columns).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                c == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[c] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

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

/// `value` with `digits` decimals.
public func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0 ..< digits { scale *= 10 }
    let rounded = (abs(value) * scale).rounded()
    let integer = Int(rounded / scale)
    let fraction = Int(rounded) - integer * Int(scale)
    var text = (value < 0 && rounded > 0 ? "-" : "") + "\(integer)"
    if digits > 0 {
        let f = "\(fraction)"
        text += "." + String(repeating: "0", count: digits - f.count) + f
    }
    return text
}

/// `value` in scientific notation with one decimal: "3.2e-06" (0 as "0").
public func scientific(_ value: Double) -> String {
    guard value > 0 && value.isFinite else { return value == 0 ? "0" : "\(value)" }
    var exponent = 0
    var mantissa = value
    while mantissa >= 9.95 { mantissa /= 10; exponent += 1 }
    while mantissa < 0.995 { mantissa *= 10; exponent -= 1 }
    return fixed(mantissa, 1) + "e" + (exponent < 0 ? "-" : "+") + (abs(exponent) < 10 ? "0" : "") + "\(abs(exponent))"
}

/// Seconds as "12.3 us", "4.56 ms" or "1.23 s".
public func formatSeconds(_ seconds: Double) -> String {
    if seconds < 1e-3 { return fixed(seconds * 1e6, 1) + " us" }
    if seconds < 1 { return fixed(seconds * 1e3, 2) + " ms" }
    return fixed(seconds, 2) + " s"
}

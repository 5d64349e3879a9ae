/// Sizes as people write them: "4K", "64M", "1G" (powers of 1024).
public enum ByteSize {
    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// Parses a non-negative byte count with an optional K, M or G suffix (case-insensitive, an
    /// optional trailing "B" or "iB" allowed).
    public static func parse(_ text: String) throws -> Int {
        var digits = Substring(text.trimmingWhitespace)
        for suffix in ["iB", "ib", "B", "b"] where digits.hasSuffix(suffix) && digits.count > suffix.count {
            digits = digits.dropLast(suffix.count)
            break
        }
        var multiplier = 1
        if let last = digits.last, let shift = ["k": 10, "m": 20, "g": 30][last.lowercased()] {
            multiplier = 1 << shift
            digits = digits.dropLast()
        }
        guard let value = Int(digits), value >= 0 else {
            throw ParseError("'\(text)' is not a size (examples: 4096, 4K, 64M, 1G)")
        }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { throw ParseError("'\(text)' is too large") }
        return bytes
    }

    /// "4K", "64M", "1.5M", "1000B": the shortest exact-or-one-decimal form.
    public static func format(_ bytes: Int) -> String {
        for (shift, unit) in [(30, "G"), (20, "M"), (10, "K")] where bytes >= 1 << shift {
            let value = Double(bytes) / Double(1 << shift)
            if bytes % (1 << shift) == 0 { return "\(bytes >> shift)\(unit)" }
            return "\(Double(Int(value * 10)) / 10)\(unit)"
        }
        return "\(bytes)B"
    }

    /// Bytes for a message, in decimal units with three significant digits: "157 GB", "3.07 MB",
    /// "512 B"; any size (a Double: estimates of absurd requests must not overflow).
    public static func describe(_ bytes: Double) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
        var value = bytes
        var unit = 0
        while value >= 999.5 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        if unit == 0 { return "\(Int(value.rounded())) B" }
        return fixed(value, value >= 99.95 ? 0 : value >= 9.995 ? 1 : 2) + " " + units[unit]
    }
}

/// Parses a comma-separated list with `element`, naming the first bad entry.
public func parseList<T>(_ text: String, element: (String) throws -> T) throws -> [T] {
    let items = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    guard !text.isEmpty else { throw ByteSize.ParseError("the list is empty") }
    return try items.map { item in
        guard !item.trimmingWhitespace.isEmpty else { throw ByteSize.ParseError("'\(text)' has an empty entry") }
        return try element(item)
    }
}

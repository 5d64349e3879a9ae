/// A wrong `--regime` entry. The description quotes the entry, gives its position (1 for the
/// first entry) and says what is wrong, e.g.
/// `regime entry 2 '81:lr=abc': 'abc' is not a number (lr takes a number ≥ 0, e.g. lr=0.1)`.
public struct RegimeError: Error, CustomStringConvertible, Equatable, Sendable {
    /// 1-based position of the entry in the regime.
    public let position: Int
    /// The entry as written (trimmed), or as described when the regime was built from values.
    public let entry: String
    public let reason: String

    public init(position: Int, entry: String, reason: String) {
        self.position = position
        self.entry = entry
        self.reason = reason
    }

    public var description: String { "regime entry \(position) '\(entry)': \(reason)" }
}

/// A schedule parameter out of range: a base setting, the epoch count, the base batch size, the
/// warm-up length or the regime-adaptation factor. `option` is the parameter's command-line name
/// without dashes (`warmup-epochs`, `regime-adaptation`, …), so a caller can point at the flag or
/// the configuration-file field.
public struct ScheduleError: Error, CustomStringConvertible, Equatable, Sendable {
    public let option: String
    /// The offending value as text.
    public let value: String
    public let reason: String

    public init(option: String, value: String, reason: String) {
        self.option = option
        self.value = value
        self.reason = reason
    }

    public var description: String { "\(option) = \(value): \(reason)" }
}

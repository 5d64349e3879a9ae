/// One setting that differs between two epochs, for the log line at a regime boundary.
public struct SettingChange: Equatable, Sendable, CustomStringConvertible {
    public let key: EpochSettings.Key
    public let before: Double
    public let after: Double

    public init(key: EpochSettings.Key, before: Double, after: Double) {
        self.key = key
        self.before = before
        self.after = after
    }

    /// "lr 0.1 → 0.01", "copies 1 → 8".
    public var description: String { "\(key.rawValue) \(key.format(before)) → \(key.format(after))" }
}

extension Duration {
    /// This duration in seconds (for figures: a step's time, a rate).
    public var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}

/// Seconds as "12.3 us", "4.56 ms" or "1.23 s" (for timings).
public func formatSeconds(_ seconds: Double) -> String {
    if seconds < 1e-3 { return fixed(seconds * 1e6, 1) + " us" }
    if seconds < 1 { return fixed(seconds * 1e3, 2) + " ms" }
    return fixed(seconds, 2) + " s"
}

/// Seconds as "1h02m", "3m07s" or "12s" (for a time left); "?" when unknown.
public func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite && seconds >= 0 && seconds < 1e15 else { return "?" }
    let s = UInt64(seconds.rounded())
    if s >= 3600 { return "\(s / 3600)h" + zeroPadded(s % 3600 / 60, width: 2) + "m" }
    if s >= 60 { return "\(s / 60)m" + zeroPadded(s % 60, width: 2) + "s" }
    return "\(s)s"
}

import Foundation

/// How data values map onto an axis.
public enum ScaleKind: String, Sendable {
    case linear
    /// Base 10; only positive values can be shown.
    case logarithmic

    /// Logarithmic when the values are positive and span a factor of `ratio` or more (a loss
    /// falling from 2.3 to 0.1: the late part stays visible), else linear.
    public static func suggested(for values: [Double], ratio: Double = 5) -> ScaleKind {
        let finite = values.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max(), low > 0 else { return .linear }
        return high >= ratio * low ? .logarithmic : .linear
    }
}

/// An axis scale: a domain of data values, widened to round tick values, mapped onto a pixel range.
public struct Scale: Sendable, Equatable {
    public let kind: ScaleKind
    /// The data interval shown, from the first tick to the last.
    public let lower: Double
    public let upper: Double
    /// Values at which the axis is labelled, ascending, from `lower` to `upper`.
    public let ticks: [Double]

    /// The smallest interval of round ticks that covers `values` (the finite ones; on a logarithmic
    /// scale, the positive ones). With no such values the scale shows [0, 1] or [1, 10].
    /// With `wholeNumbers` (counts, epochs) a linear scale's ticks are at least 1 apart.
    public init(kind: ScaleKind, covering values: [Double], tickCount: Int = 5, wholeNumbers: Bool = false) {
        self.kind = kind
        let usable = values.filter { $0.isFinite && (kind == .linear || $0 > 0) }
        switch kind {
        case .linear:
            (lower, upper, ticks) = Self.linearTicks(min: usable.min() ?? 0, max: usable.max() ?? 1, count: tickCount,
                                                     minimumStep: wholeNumbers ? 1 : 0)
        case .logarithmic:
            (lower, upper, ticks) = Self.logarithmicTicks(min: usable.min() ?? 1, max: usable.max() ?? 10)
        }
    }

    /// The spacing that decides how many digits the label of `tick` needs: the interval between
    /// ticks on a linear scale, the tick itself on a logarithmic one.
    public func step(at tick: Double) -> Double {
        switch kind {
        case .linear: return ticks.count > 1 ? ticks[1] - ticks[0] : Swift.max(abs(tick), 1)
        case .logarithmic: return tick
        }
    }

    /// Whether the scale can place `value` (finite, and positive on a logarithmic scale).
    public func canShow(_ value: Double) -> Bool {
        value.isFinite && (kind == .linear || value > 0)
    }

    /// Where `value` falls between the ends of the domain: 0 at `lower`, 1 at `upper`.
    public func fraction(_ value: Double) -> Double {
        switch kind {
        case .linear: return (value - lower) / (upper - lower)
        case .logarithmic: return (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
        }
    }

    /// Round ticks ("nice numbers": 1, 2 or 5 times a power of ten apart) from a multiple of the
    /// step at or below `min` to one at or above `max`, about `count` intervals.
    static func linearTicks(min: Double, max: Double, count: Int, minimumStep: Double = 0) -> (Double, Double, [Double]) {
        var low = min, high = max
        if high - low <= Swift.max(abs(low), abs(high)) * 1e-12 {
            // One value: show it in the middle of a unit-sized interval.
            let centre = low
            let half = centre == 0 ? 0.5 : abs(centre) / 2
            (low, high) = (centre - half, centre + half)
            if centre >= 0 && low < 0 { low = 0 }
        }
        let step = Swift.max(niceStep((high - low) / Double(Swift.max(count, 1))), minimumStep)
        let first = (low / step).rounded(.down), last = (high / step).rounded(.up)
        let ticks = stride(from: first, through: last, by: 1).map { tidy($0 * step) }
        return (ticks.first!, ticks.last!, ticks)
    }

    /// Over three decades or less: from the largest of 1, 2 or 5 times a power of ten at or below
    /// `min` to the smallest at or above `max`, ticks at each of those values. Over more: whole
    /// decades, ticks at powers of ten (every second or third one over many decades).
    static func logarithmicTicks(min: Double, max: Double) -> (Double, Double, [Double]) {
        let low = Int(tidy(log10(min)).rounded(.down))
        let high = Swift.max(Int(tidy(log10(max)).rounded(.up)), low + 1)
        if high - low > 3 {
            let every = (high - low + 5) / 6
            var ticks = stride(from: low, to: high, by: every).map { tidy(pow(10, Double($0))) }
            let upper = tidy(pow(10, Double(high)))
            ticks.append(upper)
            return (ticks.first!, upper, ticks)
        }
        let candidates = (low - 1 ... high).flatMap { exponent in
            [1.0, 2, 5].map { tidy($0 * pow(10, Double(exponent))) }
        } + [tidy(pow(10, Double(high + 1)))]
        var first = candidates.lastIndex { $0 <= min } ?? 0
        var last = candidates.firstIndex { $0 >= max } ?? candidates.count - 1
        if first == last {
            first = Swift.max(first - 1, 0)
            last = Swift.min(last + 1, candidates.count - 1)
        }
        return (candidates[first], candidates[last], Array(candidates[first ... last]))
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0 && raw.isFinite else { return 1 }
        let magnitude = pow(10, log10(raw).rounded(.down))
        let residual = raw / magnitude
        let factor: Double = residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 5 ? 5 : 10
        return factor * magnitude
    }

    /// Removes the binary noise of `k * step` (0.30000000000000004 → 0.3).
    static func tidy(_ value: Double) -> Double {
        guard value.isFinite else { return value }
        return Double(String(format: "%.12g", value)) ?? value
    }
}

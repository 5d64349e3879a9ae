import Collectives
import Formatting

/// How the gradient of a step is summed over the ranks: cut into `buckets` (which, at three ranks
/// or more, decide the order of the additions), each bucket with its algorithm, all-reduced during
/// backward or after it as `overlap` says.
public struct GradientReduction: Sendable {
    public let buckets: GradientBuckets
    /// The algorithm of each bucket, in the order of `buckets.ranges`.
    public let algorithms: [AllreduceAlgorithm]
    public let overlap: Overlap

    /// `algorithm(count)`: the algorithm for a bucket of `count` floats.
    public init(buckets: GradientBuckets, overlap: Overlap, algorithm: (Int) -> AllreduceAlgorithm) {
        self.buckets = buckets
        algorithms = buckets.ranges.map { algorithm($0.count) }
        self.overlap = overlap
    }

    /// The share of backward's time above which hiding the all-reduce pays for a second thread.
    public static let overlapThreshold = 0.02

    /// `overlap auto`'s rule, from one step all-reduced after backward (summed over the ranks, so
    /// that every rank decides alike): overlap when the all-reduce took at least `overlapThreshold`
    /// of the forward and backward time. Below it there is little to hide; above it, the pauses
    /// of a patient thread (`Waiting`) cost less than what it hides.
    public static func overlapPays(allreduceSeconds: Double, computeSeconds: Double) -> Bool {
        computeSeconds > 0 && allreduceSeconds >= overlapThreshold * computeSeconds
    }
}

/// What `overlap auto` decided, and from what.
public struct OverlapDecision: Sendable, Equatable {
    public let overlaps: Bool
    /// The all-reduce's and the forward/backward's seconds of the step it was decided from, as a
    /// mean over the ranks.
    public let allreduceSeconds: Double
    public let computeSeconds: Double

    public init(overlaps: Bool, allreduceSeconds: Double, computeSeconds: Double) {
        self.overlaps = overlaps
        self.allreduceSeconds = allreduceSeconds
        self.computeSeconds = computeSeconds
    }

    /// "on: the all-reduce took 109.3 ms of 218.6 ms forward and backward (50.0 %; 2 % or more)".
    public var summary: String {
        let share = computeSeconds > 0 ? allreduceSeconds / computeSeconds : 0
        return (overlaps ? "on" : "off") + ": the all-reduce took \(formatSeconds(allreduceSeconds)) of "
            + "\(formatSeconds(computeSeconds)) forward and backward (\(percent(share))"
            + (overlaps ? "; \(percent(GradientReduction.overlapThreshold)) or more)" : "; under \(percent(GradientReduction.overlapThreshold)))")
    }
}

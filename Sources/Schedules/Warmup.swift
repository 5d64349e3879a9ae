/// Gradual warm-up (Goyal et al. 2017, "Accurate, large minibatch SGD", §2.2): over the first W
/// epochs the learning rate rises linearly, step by step, to the rate the schedule asks for, so
/// that a large scaled rate does not blow up the first updates.
///
/// The convention, exactly:
///
/// - **Progress** after a step: p = min(1, (e + (s + 1) / S) / W) for step s (0-based) of epoch
///   e (0-based) with S steps per epoch. Counting the step being taken (s + 1) means no step runs
///   at the starting rate (with `.zero`, no step is wasted at rate 0), and the last step inside
///   the W epochs already runs at the full rate. W may be fractional (0.5 = half an epoch of steps). Progress is measured in epochs, so
///   it stays correct when a regime changes the batch size, and hence S, during the warm-up.
/// - **Start** `.zero` (the default): the rate goes from 0 to the target, target·p. It warms up
///   whatever the scaling rule, including a large rate set by hand with `--lr-scaling none` and
///   a base batch equal to the effective batch (k = 1); it is also the form most library
///   schedulers use by default (e.g. Hugging Face's linear warm-up, DeepSpeed's `WarmupLR`).
/// - **Start** `.unscaled` (Goyal et al.'s exact recipe, also Horovod's): the rate goes from the
///   unscaled η (the rate for the base batch, known to be stable) to the scaled k·η, i.e.
///   η·(1 + (k − 1)·p). When k ≤ 1 the scaled rate is already the smaller one and there is
///   nothing to warm up; `LearningRateSchedule` rejects this start without a scaling rule, where
///   it could never do anything.
///
/// The length is in epochs of the run as it is: regime adaptation does not stretch it (Goyal et
/// al. keep 5 epochs whatever the batch size). W = 0 disables the warm-up.
public struct Warmup: Equatable, Sendable {
    /// Where the linear ramp starts; it always ends at the scheduled (scaled) rate.
    public enum Start: String, CaseIterable, Sendable, Codable {
        /// From 0 to the scheduled rate.
        case zero
        /// From the rate for the base batch, η, to the scaled rate k·η (Goyal et al. 2017).
        case unscaled
    }

    /// W, the length of the warm-up in epochs; 0 for none.
    public let epochs: Double
    public let start: Start

    /// No warm-up.
    public static let disabled = Warmup(checkedEpochs: 0, start: .zero)

    /// - Throws: `ScheduleError` for `warmup-epochs` unless W is a finite number ≥ 0.
    public init(epochs: Double, start: Start = .zero) throws(ScheduleError) {
        guard epochs.isFinite && epochs >= 0 else {
            throw ScheduleError(option: "warmup-epochs", value: "\(epochs)",
                                reason: "the warm-up length must be a finite number of epochs ≥ 0")
        }
        self.init(checkedEpochs: epochs, start: start)
    }

    private init(checkedEpochs: Double, start: Start) {
        epochs = checkedEpochs
        self.start = start
    }

    /// p in (0, 1]: how much of the warm-up is done once step `step` of epoch `epoch` is taken;
    /// 1 from the end of the warm-up on, and always 1 when W = 0.
    public func progress(epoch: Int, step: Int, stepsPerEpoch: Int) -> Double {
        precondition(epoch >= 0 && stepsPerEpoch >= 1 && (0 ..< stepsPerEpoch).contains(step),
                     "need epoch ≥ 0 and 0 ≤ step < stepsPerEpoch (epoch \(epoch), step \(step) of \(stepsPerEpoch))")
        guard epochs > 0 else { return 1 }
        let steps = Double(stepsPerEpoch)
        return min(1, (Double(epoch) * steps + Double(step + 1)) / (epochs * steps))
    }

    /// The multiplier of the scheduled (already scaled) learning rate at this step, in (0, 1].
    ///
    /// - Parameter scalingFactor: k, the factor the scaling rule applies at this step
    ///   (`LearningRateScaling.factor`); only the `.unscaled` start uses it.
    public func factor(epoch: Int, step: Int, stepsPerEpoch: Int, scalingFactor: Double) -> Double {
        let progress = progress(epoch: epoch, step: step, stepsPerEpoch: stepsPerEpoch)
        switch start {
        case .zero:
            return progress
        case .unscaled:
            // η·(1 + (k − 1)·p) as a fraction of k·η; k ≤ 1 starts at the target.
            let startFraction = scalingFactor > 1 ? 1 / scalingFactor : 1
            return startFraction + (1 - startFraction) * progress
        }
    }
}

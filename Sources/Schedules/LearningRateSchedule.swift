/// Everything the training loop asks of the schedule, in one value: the settings in force at an
/// epoch and the learning rate of every step.
///
/// The learning rate of step s of epoch e is
///
///     regime lr at e  ×  scaling factor k for the effective batch at e  ×  warm-up factor at (e, s)
///
/// - The regime's `lr` (and `--lr`) is the rate for `baseBatchSize`: a regime that decays it
///   decays the scaled rate by the same ratio (0.1 → 0.01 with k = 8 gives 0.8 → 0.08).
/// - k follows the effective batch M·B *of the current epoch*: when a regime sets `copies` or
///   `batch-size`, k changes from that epoch on. The base batch itself never changes; it is the
///   batch for which the `lr` values were chosen (see `LearningRateScaling`).
/// - Regime adaptation multiplies the regime's epoch boundaries and the epoch count by K before
///   anything else. Every epoch this type takes or returns is an epoch of the adapted run, except
///   the `epochs:` argument of the initialiser (the count the user asked for) and `requestedEpochs`.
///
/// A pure value: the same arguments always give the same answer, so a resumed run recomputes
/// the rate of any step from (epoch, step) alone.
public struct LearningRateSchedule: Equatable, Sendable {
    /// The settings before any regime entry (from `--lr`, `--momentum`, …).
    public let base: EpochSettings
    /// The regime as given, before adaptation.
    public let regime: Regime
    /// The regime the run follows: `regime` with its boundaries × `adaptationFactor`.
    public let adaptedRegime: Regime
    public let scaling: LearningRateScaling
    /// The batch for which the `lr` values were chosen; compared to the effective batch M·B.
    public let baseBatchSize: Int
    public let warmup: Warmup
    /// K of regime adaptation; 1 for none.
    public let adaptationFactor: Int
    /// The epochs the run trains for: the requested count × `adaptationFactor`.
    public let epochs: Int
    /// The epoch count as given, before adaptation.
    public let requestedEpochs: Int

    /// - Parameters:
    ///   - base: the settings in force before the first regime entry.
    ///   - regime: the regime as the user wrote it (unadapted).
    ///   - epochs: the epoch count as the user gave it (unadapted); `self.epochs` is the adapted one.
    ///   - scaling: how the rate follows the effective batch.
    ///   - baseBatchSize: the batch for which `base.learningRate` and the regime's `lr` were chosen.
    ///   - warmup: the warm-up, in epochs of the adapted run.
    ///   - adaptationFactor: K of regime adaptation.
    /// - Throws: `ScheduleError` naming the option that is out of range: a base setting (`lr`,
    ///   `momentum`, `weight-decay`, `copies`, `batch-size`), `epochs`, `base-batch-size`,
    ///   `regime-adaptation`, or `warmup-epochs` when a warm-up from the unscaled rate is asked
    ///   for without a scaling rule (it would do nothing). Also `copies` when M·B of some epoch
    ///   does not fit in an `Int`.
    public init(base: EpochSettings, regime: Regime = Regime(), epochs: Int, scaling: LearningRateScaling = .none,
                baseBatchSize: Int, warmup: Warmup = .disabled, adaptationFactor: Int = 1) throws(ScheduleError) {
        try base.validate()
        let adaptedEpochs = try Regime.adaptedEpochCount(epochs, by: adaptationFactor)
        guard baseBatchSize >= 1 else {
            throw ScheduleError(option: "base-batch-size", value: String(baseBatchSize),
                                reason: "the base batch size must be a whole number ≥ 1")
        }
        if warmup.epochs > 0 && warmup.start == .unscaled && scaling == .none {
            throw ScheduleError(option: "warmup-epochs", value: "\(warmup.epochs)",
                                reason: "a warm-up from the unscaled learning rate needs a scaling rule (linear or sqrt); "
                                    + "without one, warm up from zero")
        }
        let adaptedRegime = try regime.adapted(by: adaptationFactor)
        for settings in [base] + adaptedRegime.entries.map({ adaptedRegime.settings(atEpoch: $0.epoch, base: base) }) {
            guard !settings.copies.multipliedReportingOverflow(by: settings.batchSize).overflow else {
                throw ScheduleError(option: "copies", value: String(settings.copies),
                                    reason: "copies × batch-size (\(settings.batchSize)) is too large")
            }
        }
        self.base = base
        self.regime = regime
        self.adaptedRegime = adaptedRegime
        self.scaling = scaling
        self.baseBatchSize = baseBatchSize
        self.warmup = warmup
        self.adaptationFactor = adaptationFactor
        self.epochs = adaptedEpochs
        requestedEpochs = epochs
    }

    /// The settings in force at `epoch` of the adapted run: momentum, weight decay, M and B as
    /// the optimizer and augmenter use them; `learningRate` is the unscaled regime rate.
    public func settings(epoch: Int) -> EpochSettings {
        adaptedRegime.settings(atEpoch: epoch, base: base)
    }

    /// k, the factor of the scaling rule for the effective batch M·B in force at `epoch`.
    public func scalingFactor(epoch: Int) -> Double {
        scaling.factor(effectiveBatch: settings(epoch: epoch).effectiveBatchSize, baseBatch: baseBatchSize)
    }

    /// The rate of `epoch` once any warm-up is over: regime lr × k. What an epoch summary logs.
    public func scaledLearningRate(epoch: Int) -> Double {
        settings(epoch: epoch).learningRate * scalingFactor(epoch: epoch)
    }

    /// The rate of step `step` (0-based) of `epoch` (0-based) with `stepsPerEpoch` steps in that
    /// epoch: regime lr × k × warm-up factor.
    public func learningRate(epoch: Int, step: Int, stepsPerEpoch: Int) -> Double {
        let settings = settings(epoch: epoch)
        let scalingFactor = scaling.factor(effectiveBatch: settings.effectiveBatchSize, baseBatch: baseBatchSize)
        let warmupFactor = warmup.factor(epoch: epoch, step: step, stepsPerEpoch: stepsPerEpoch,
                                         scalingFactor: scalingFactor)
        return settings.learningRate * scalingFactor * warmupFactor
    }

    /// What differs at the start of `epoch` from the epoch before (at epoch 0, from `base`);
    /// empty when nothing does. For the log line at a regime boundary.
    public func changes(atEpoch epoch: Int) -> [SettingChange] {
        let before = epoch > 0 ? settings(epoch: epoch - 1) : base
        return before.changes(to: settings(epoch: epoch))
    }

    /// The run as stretches of epochs with the same settings, in order: the first starts at
    /// epoch 0, each next one where some setting differs. Entries at or after `epochs`
    /// never take effect and are left out. Use it to check every batch size and number of
    /// copies against the number of ranks before training starts.
    public var phases: [RegimePhase] {
        var phases = [RegimePhase(startEpoch: 0, settings: settings(epoch: 0))]
        for epoch in adaptedRegime.boundaries where epoch > 0 && epoch < epochs {
            let settings = settings(epoch: epoch)
            if settings != phases[phases.count - 1].settings {
                phases.append(RegimePhase(startEpoch: epoch, settings: settings))
            }
        }
        return phases
    }

    /// The epochs after 0 at which some setting changes during the run, increasing: the start
    /// of every phase but the first.
    public var changeEpochs: [Int] { phases.dropFirst().map(\.startEpoch) }
}

/// A stretch of the run over which the settings stay the same, from `startEpoch` to the start of
/// the next phase (or the end of the run).
public struct RegimePhase: Equatable, Sendable {
    public let startEpoch: Int
    public let settings: EpochSettings

    public init(startEpoch: Int, settings: EpochSettings) {
        self.startEpoch = startEpoch
        self.settings = settings
    }
}

import Schedules
import Testing

@Suite("the combined schedule")
struct LearningRateScheduleTests {
    /// The brief's case: lr 0.1 for a base batch of 128; B = 256 with M = 4 copies, so M·B = 1024
    /// and sqrt scaling gives k = √(1024/128) = √8 = 2.8284271247461903; 2 warm-up epochs from
    /// the unscaled rate; regime "0:lr=0.1;30:lr=0.01" over 60 epochs, adapted ×2, so the decay
    /// comes at epoch 60 of 120. 195 steps per epoch (50,000 / 256, last partial batch dropped),
    /// so the warm-up is 390 steps and step t (counted over the run, from 0) has
    /// p = (t + 1) / 390 and lr = 0.1·(1 + (√8 − 1)·p).
    static func realistic() throws -> LearningRateSchedule {
        try LearningRateSchedule(
            base: EpochSettings(learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, copies: 4, batchSize: 256),
            regime: Regime(parsing: "0:lr=0.1;30:lr=0.01"),
            epochs: 60, scaling: .sqrt, baseBatchSize: 128,
            warmup: Warmup(epochs: 2, start: .unscaled), adaptationFactor: 2)
    }

    @Test("the brief's case, step by step: warm-up, scaled plateau, adapted decay")
    func realisticRates() throws {
        let schedule = try Self.realistic()
        func rate(_ epoch: Int, _ step: Int) -> Double { schedule.learningRate(epoch: epoch, step: step, stepsPerEpoch: 195) }
        #expect(schedule.epochs == 120)
        #expect(schedule.requestedEpochs == 60)
        #expect(schedule.adaptedRegime.boundaries == [0, 60])
        #expect(isClose(rate(0, 0), 0.10046882746788365))     // p = 1/390
        #expect(isClose(rate(0, 97), 0.1459450918525966))     // p = 98/390
        #expect(isClose(rate(0, 194), 0.19142135623730952))   // p = 195/390 = ½: 0.1·(1 + √8)/2
        #expect(isClose(rate(1, 0), 0.19189018370519317))     // p = 196/390
        #expect(isClose(rate(1, 194), 0.28284271247461906))   // p = 1: 0.1·√8
        #expect(rate(0, 0) < rate(0, 1) && rate(0, 1) < rate(0, 2))
        for epoch in [2, 30, 59] {                            // 30: still 0.1, the boundary moved to 60
            #expect(isClose(rate(epoch, 0), 0.28284271247461906), "epoch \(epoch)")
            #expect(isClose(rate(epoch, 194), 0.28284271247461906), "epoch \(epoch)")
        }
        for epoch in [60, 61, 119] {                          // 0.01·√8
            #expect(isClose(rate(epoch, 0), 0.028284271247461905), "epoch \(epoch)")
            #expect(isClose(rate(epoch, 100), 0.028284271247461905), "epoch \(epoch)")
        }
        #expect(isClose(schedule.scaledLearningRate(epoch: 0), 0.28284271247461906))
        #expect(schedule.scalingFactor(epoch: 61) == 8.0.squareRoot())
    }

    @Test("the brief's case: settings, changes and phases follow the adapted boundaries")
    func realisticSettings() throws {
        let schedule = try Self.realistic()
        #expect(schedule.settings(epoch: 59).learningRate == 0.1)
        #expect(schedule.settings(epoch: 60) == EpochSettings(learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4,
                                                              copies: 4, batchSize: 256))
        #expect(schedule.changes(atEpoch: 0).isEmpty)
        #expect(schedule.changes(atEpoch: 30).isEmpty)
        #expect(schedule.changes(atEpoch: 60) == [SettingChange(key: .learningRate, before: 0.1, after: 0.01)])
        #expect(schedule.phases.map(\.startEpoch) == [0, 60])
        #expect(schedule.changeEpochs == [60])
    }

    @Test("a regime decay keeps its ratio under scaling: 0.1 → 0.01 with k = 8 is 0.8 → 0.08")
    func decayUnderScaling() throws {
        let schedule = try LearningRateSchedule(
            base: EpochSettings(learningRate: 0.1, momentum: 0.9, weightDecay: 0, copies: 8, batchSize: 128),
            regime: Regime(parsing: "0:lr=0.1;30:lr=0.01"), epochs: 40, scaling: .linear, baseBatchSize: 128)
        #expect(schedule.learningRate(epoch: 29, step: 0, stepsPerEpoch: 10) == 0.8)
        #expect(isClose(schedule.learningRate(epoch: 30, step: 0, stepsPerEpoch: 10), 0.08))
    }

    @Test("Smith et al.: the batch grows; with linear scaling the rate follows it, with none it stays")
    func increasingBatch() throws {
        let base = EpochSettings(learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, copies: 1, batchSize: 128)
        let regime = try Regime(parsing: "0:lr=0.1;30:batch-size=640;60:batch-size=3200")
        let linear = try LearningRateSchedule(base: base, regime: regime, epochs: 90, scaling: .linear, baseBatchSize: 128)
        #expect(linear.learningRate(epoch: 29, step: 0, stepsPerEpoch: 390) == 0.1)
        #expect(isClose(linear.learningRate(epoch: 30, step: 0, stepsPerEpoch: 78), 0.5))    // 640 / 128 = 5
        #expect(isClose(linear.learningRate(epoch: 60, step: 0, stepsPerEpoch: 15), 2.5))    // 3200 / 128 = 25
        let none = try LearningRateSchedule(base: base, regime: regime, epochs: 90, baseBatchSize: 128)
        #expect([0, 30, 60, 89].allSatisfy { none.learningRate(epoch: $0, step: 0, stepsPerEpoch: 15) == 0.1 })
        #expect(none.phases.map(\.settings.batchSize) == [128, 640, 3200])
        #expect(none.changeEpochs == [30, 60])
        #expect(none.changes(atEpoch: 30).map(\.description) == ["batch-size 128 → 640"])
    }

    @Test("batch augmentation: more copies scale the rate by the new M·B")
    func increasingCopies() throws {
        let schedule = try LearningRateSchedule(
            base: EpochSettings(learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, copies: 1, batchSize: 128),
            regime: Regime(parsing: "0:copies=1;30:copies=8"), epochs: 60, scaling: .sqrt, baseBatchSize: 128)
        #expect(schedule.learningRate(epoch: 29, step: 5, stepsPerEpoch: 391) == 0.1)
        #expect(isClose(schedule.learningRate(epoch: 30, step: 5, stepsPerEpoch: 391), 0.28284271247461906))
        #expect(schedule.settings(epoch: 30).effectiveBatchSize == 1024)
    }

    @Test("phases merge entries that change nothing and drop those after the run")
    func phases() throws {
        let schedule = try LearningRateSchedule(
            base: EpochSettings(learningRate: 0.1, momentum: 0.9, weightDecay: 0, copies: 1, batchSize: 128),
            regime: Regime(parsing: "0:lr=0.1;10:lr=0.1;20:copies=2;50:lr=0.001"), epochs: 30, baseBatchSize: 128)
        #expect(schedule.phases == [
            RegimePhase(startEpoch: 0, settings: schedule.base),
            RegimePhase(startEpoch: 20, settings: EpochSettings(learningRate: 0.1, momentum: 0.9, weightDecay: 0,
                                                                copies: 2, batchSize: 128)),
        ])
    }

    @Test("a warm-up from zero (the default) needs no scaling rule; one from the unscaled rate does")
    func warmupWithoutScaling() throws {
        let base = EpochSettings(learningRate: 3.2, momentum: 0.9, weightDecay: 0, copies: 1, batchSize: 8192)
        let fromZero = try LearningRateSchedule(base: base, epochs: 90, baseBatchSize: 8192,
                                                warmup: Warmup(epochs: 5))
        #expect(isClose(fromZero.learningRate(epoch: 0, step: 0, stepsPerEpoch: 100), 3.2 / 500))
        #expect(isClose(fromZero.learningRate(epoch: 2, step: 49, stepsPerEpoch: 100), 3.2 / 2))
        #expect(fromZero.learningRate(epoch: 5, step: 0, stepsPerEpoch: 100) == 3.2)
        do {
            let schedule = try LearningRateSchedule(base: base, epochs: 90, baseBatchSize: 8192,
                                                    warmup: Warmup(epochs: 5, start: .unscaled))
            Issue.record("accepted a warm-up that can never act: \(schedule)")
        } catch {
            #expect(error.option == "warmup-epochs")
            #expect(error.reason.contains("needs a scaling rule"))
        }
    }

    @Test("each option out of range is an error naming it and saying why")
    func errors() throws {
        let good = EpochSettings(learningRate: 0.1, momentum: 0.9, weightDecay: 0, copies: 1, batchSize: 128)
        var badMomentum = good
        badMomentum.momentum = 1
        #expect(throws: ScheduleError(option: "momentum", value: "1.0", reason: "momentum must lie in [0, 1), got 1.0")) {
            try LearningRateSchedule(base: badMomentum, epochs: 10, baseBatchSize: 128)
        }
        var badRate = good
        badRate.learningRate = -0.1
        #expect(throws: ScheduleError(option: "lr", value: "-0.1", reason: "lr must be a finite number ≥ 0, got -0.1")) {
            try LearningRateSchedule(base: badRate, epochs: 10, baseBatchSize: 128)
        }
        #expect(throws: ScheduleError(option: "epochs", value: "0", reason: "the run needs at least 1 epoch")) {
            try LearningRateSchedule(base: good, epochs: 0, baseBatchSize: 128)
        }
        #expect(throws: ScheduleError(option: "base-batch-size", value: "0",
                                      reason: "the base batch size must be a whole number ≥ 1")) {
            try LearningRateSchedule(base: good, epochs: 10, baseBatchSize: 0)
        }
        #expect(throws: ScheduleError(option: "regime-adaptation", value: "0",
                                      reason: "the factor K must be a whole number ≥ 1 (1 leaves the regime as it is)")) {
            try LearningRateSchedule(base: good, epochs: 10, baseBatchSize: 128, adaptationFactor: 0)
        }
        let huge = try Regime(parsing: "5:copies=\(Int.max / 2)")
        #expect(throws: ScheduleError(option: "copies", value: String(Int.max / 2),
                                      reason: "copies × batch-size (128) is too large")) {
            try LearningRateSchedule(base: good, regime: huge, epochs: 10, baseBatchSize: 128)
        }
    }
}

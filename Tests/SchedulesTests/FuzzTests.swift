import Schedules
import Testing
import TestSupport

/// Mutated regimes, through the parser and the schedule built from them: an error or a schedule
/// whose every phase gives finite settings, never a crash.
@Suite("regime language: fuzzed")
struct RegimeFuzzTests {
    @Test("regimes", .timeLimit(.minutes(1)))
    func regimes() {
        let valid = ["0:lr=0.1;81:lr=0.01;122:lr=0.001", "0:lr=0.1,momentum=0.9;30:batch-size=640,copies=8",
                     "5:weight-decay=0.0001;10:copies=4", ""].map { Array($0.utf8) }
        let base = EpochSettings(learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, copies: 2, batchSize: 64)
        let tried = fuzz("regime", valid: valid) { bytes in
            let regime = try Regime(parsing: String(decoding: bytes, as: UTF8.self))
            let schedule = try LearningRateSchedule(base: base, regime: regime, epochs: 200, scaling: .linear, baseBatchSize: 128,
                                                    warmup: Warmup(epochs: 2), adaptationFactor: 2)
            for epoch in [0] + schedule.changeEpochs where epoch < schedule.epochs {
                _ = schedule.settings(epoch: epoch)
                _ = schedule.learningRate(epoch: epoch, step: 0, stepsPerEpoch: 10)
            }
        }
        #expect(tried > 100)
    }
}

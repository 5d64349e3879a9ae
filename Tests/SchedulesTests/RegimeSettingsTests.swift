import Schedules
import Testing

/// lr 0.5, momentum 0.9, weight decay 5e-4, M = 1, B = 128: values no test regime sets, so a
/// setting that leaks from the base shows up.
let base = EpochSettings(learningRate: 0.5, momentum: 0.9, weightDecay: 5e-4, copies: 1, batchSize: 128)

@Suite("settings in force at an epoch")
struct RegimeSettingsTests {
    @Test("step decay changes the rate exactly at each boundary and nothing else")
    func stepDecayBoundaries() throws {
        let regime = try Regime(parsing: "0:lr=0.1;81:lr=0.01;122:lr=0.001")
        let expected: [(epoch: Int, learningRate: Double)] = [
            (0, 0.1), (1, 0.1), (80, 0.1), (81, 0.01), (82, 0.01), (121, 0.01), (122, 0.001), (500, 0.001),
        ]
        for (epoch, learningRate) in expected {
            var settings = base
            settings.learningRate = learningRate
            #expect(regime.settings(atEpoch: epoch, base: base) == settings, "epoch \(epoch)")
        }
    }

    @Test("entries are cumulative: a later entry keeps what earlier ones set")
    func cumulative() throws {
        let regime = try Regime(parsing: "0:lr=0.1,copies=4;50:lr=0.01;70:momentum=0.5,batch-size=256")
        let atZero = EpochSettings(learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, copies: 4, batchSize: 128)
        let atFifty = EpochSettings(learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4, copies: 4, batchSize: 128)
        let atSeventy = EpochSettings(learningRate: 0.01, momentum: 0.5, weightDecay: 5e-4, copies: 4, batchSize: 256)
        #expect(regime.settings(atEpoch: 0, base: base) == atZero)
        #expect(regime.settings(atEpoch: 49, base: base) == atZero)
        #expect(regime.settings(atEpoch: 50, base: base) == atFifty)
        #expect(regime.settings(atEpoch: 69, base: base) == atFifty)
        #expect(regime.settings(atEpoch: 70, base: base) == atSeventy)
        #expect(regime.settings(atEpoch: 10_000, base: base) == atSeventy)
    }

    @Test("before the first entry, and without a regime, the base settings hold")
    func baseBeforeFirstEntry() throws {
        let regime = try Regime(parsing: "10:lr=0.01")
        #expect(regime.settings(atEpoch: 0, base: base) == base)
        #expect(regime.settings(atEpoch: 9, base: base) == base)
        #expect(regime.settings(atEpoch: 10, base: base).learningRate == 0.01)
        #expect(Regime().settings(atEpoch: 123, base: base) == base)
    }

    @Test("Smith et al. and batch augmentation: batch size and copies change, the rate does not")
    func batchAndCopies() throws {
        let smith = try Regime(parsing: "0:lr=0.1;30:batch-size=640;60:batch-size=3200")
        #expect(smith.settings(atEpoch: 29, base: base).batchSize == 128)
        #expect(smith.settings(atEpoch: 30, base: base).batchSize == 640)
        #expect(smith.settings(atEpoch: 60, base: base).batchSize == 3200)
        #expect(smith.settings(atEpoch: 60, base: base).learningRate == 0.1)
        let augmented = try Regime(parsing: "0:copies=1;30:copies=8")
        #expect(augmented.settings(atEpoch: 29, base: base).effectiveBatchSize == 128)
        #expect(augmented.settings(atEpoch: 30, base: base).effectiveBatchSize == 8 * 128)
    }

    @Test("entries built in code are checked like parsed ones")
    func entriesInCode() throws {
        let entries = [RegimeEntry(epoch: 0, learningRate: 0.1), RegimeEntry(epoch: 30, copies: 8)]
        #expect(try Regime(entries: entries) == (try Regime(parsing: "0:lr=0.1;30:copies=8")))
        #expect(throws: RegimeError(position: 2, entry: "5:lr=0.01",
                                    reason: "epoch 5 comes after epoch 30; entries must be in strictly increasing epoch order")) {
            try Regime(entries: [RegimeEntry(epoch: 30, learningRate: 0.1), RegimeEntry(epoch: 5, learningRate: 0.01)])
        }
        #expect(throws: RegimeError(position: 1, entry: "0:",
                                    reason: "the entry sets nothing; give at least one of lr, momentum, weight-decay, copies, batch-size")) {
            try Regime(entries: [RegimeEntry(epoch: 0)])
        }
        #expect(throws: RegimeError(position: 1, entry: "0:copies=0", reason: "copies must be a whole number ≥ 1, got 0")) {
            try Regime(entries: [RegimeEntry(epoch: 0, copies: 0)])
        }
        #expect(throws: RegimeError(position: 1, entry: "-3:lr=0.1", reason: "the epoch must be a whole number ≥ 0, got -3")) {
            try Regime(entries: [RegimeEntry(epoch: -3, learningRate: 0.1)])
        }
    }

    @Test("changes list what differs, for the log line; M·B is the effective batch")
    func changes() {
        var later = base
        later.learningRate = 0.05
        later.copies = 8
        #expect(base.changes(to: later) == [
            SettingChange(key: .learningRate, before: 0.5, after: 0.05),
            SettingChange(key: .copies, before: 1, after: 8),
        ])
        #expect(base.changes(to: later).map(\.description) == ["lr 0.5 → 0.05", "copies 1 → 8"])
        #expect(base.changes(to: base).isEmpty)
        #expect(later.effectiveBatchSize == 8 * 128)
    }

    @Test("base settings out of range name the setting")
    func baseValidation() throws {
        try base.validate()
        var settings = base
        settings.momentum = 1
        #expect(throws: ScheduleError(option: "momentum", value: "1.0", reason: "momentum must lie in [0, 1), got 1.0")) {
            try settings.validate()
        }
        settings = base
        settings.batchSize = 0
        #expect(throws: ScheduleError(option: "batch-size", value: "0", reason: "batch-size must be a whole number ≥ 1, got 0")) {
            try settings.validate()
        }
    }
}

import Schedules
import Testing

@Suite("regime adaptation (Hoffer et al. 2017)")
struct RegimeAdaptationTests {
    @Test("every boundary is multiplied by K, the values stay")
    func boundaries() throws {
        let regime = try Regime(parsing: "0:lr=0.1;81:lr=0.01;122:lr=0.001,copies=4")
        let adapted = try regime.adapted(by: 2)
        #expect(adapted.boundaries == [0, 162, 244])
        #expect(adapted.description == "0:lr=0.1;162:lr=0.01;244:lr=0.001,copies=4")
        #expect(try regime.adapted(by: 1) == regime)
        #expect(try Regime().adapted(by: 5) == Regime())
    }

    @Test("the adapted regime at epoch e is the original at ⌊e / K⌋")
    func stretchesTime() throws {
        let regime = try Regime(parsing: "0:lr=0.1;3:batch-size=512;7:lr=0.01,copies=2;11:momentum=0.5")
        for factor in [1, 2, 3, 5] {
            let adapted = try regime.adapted(by: factor)
            for epoch in 0 ..< 15 * factor {
                #expect(adapted.settings(atEpoch: epoch, base: base) == regime.settings(atEpoch: epoch / factor, base: base),
                        "K = \(factor), epoch \(epoch)")
            }
        }
    }

    @Test("the epoch count is multiplied by K")
    func epochCount() throws {
        #expect(try Regime.adaptedEpochCount(164, by: 2) == 328)
        #expect(try Regime.adaptedEpochCount(90, by: 1) == 90)
        #expect(try Regime.adaptedEpochCount(1, by: 16) == 16)
    }

    @Test("K < 1, an empty run and overflow are errors naming the option")
    func errors() throws {
        let regime = try Regime(parsing: "0:lr=0.1;30:lr=0.01")
        for factor in [0, -2] {
            #expect(throws: ScheduleError(option: "regime-adaptation", value: String(factor),
                                          reason: "the factor K must be a whole number ≥ 1 (1 leaves the regime as it is)")) {
                try regime.adapted(by: factor)
            }
            #expect(throws: ScheduleError.self) { try Regime.adaptedEpochCount(10, by: factor) }
        }
        #expect(throws: ScheduleError(option: "epochs", value: "0", reason: "the run needs at least 1 epoch")) {
            try Regime.adaptedEpochCount(0, by: 2)
        }
        let late = try Regime(entries: [RegimeEntry(epoch: Int.max / 2 + 1, learningRate: 0.01)])
        do {
            _ = try late.adapted(by: 2)
            Issue.record("an epoch × 2 beyond Int.max was accepted")
        } catch {
            #expect(error.option == "regime-adaptation")
            #expect(error.reason.contains("epoch \(Int.max / 2 + 1) of entry"), "\(error)")
        }
    }
}

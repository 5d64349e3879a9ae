import Foundation
import RunReport
import Testing
import Studies

/// The summary's arithmetic and verdicts, on run files written here with known numbers (the same
/// files `train` writes: config.json and results.csv).
@Suite("study summary")
struct StudySummaryTests {
    static let header = "epoch,step,lr,batch_size,copies,train_loss,train_error,val_loss,val_error,grad_norm,epoch_seconds,"
        + "images_per_second,comm_seconds,data_seconds"

    /// Writes a run directory: one results row per (step, batch, copies, val error, grad norm, seconds).
    private func writeRun(_ directory: URL, _ name: String, _ epochs: [(Int, Int, Int, Double?, Double, Double)]) throws {
        let run = directory.appendingPathComponent("runs/\(name)")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let config = #"{"configuration":{"model":"resnet8","dataset":"cifar10","train-samples":1000},"job":{"dataset_train_samples":1000}}"#
        try Data(config.utf8).write(to: run.appendingPathComponent("config.json"))
        var lines = [Self.header]
        for (index, e) in epochs.enumerated() {
            lines.append("\(index),\(e.0),0.1,\(e.1),\(e.2),1.0,0.5,1.0,\(e.3.map { "\($0)" } ?? ""),\(e.4),\(e.5),100,0,0")
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: run.appendingPathComponent("results.csv"))
    }

    /// A copies study of 2 seeds whose final errors are `errors[arm] = (seed 1, seed 2)`.
    private func copiesSummary(_ errors: [String: (Double, Double)]) throws -> StudySummary {
        let directory = studyDirectory("summary")
        defer { try? FileManager.default.removeItem(at: directory) }
        let definition = StudyDefinition.make(.copies, scale: .small)
        for arm in definition.arms {
            for seed in 1 ... 2 {
                let final = seed == 1 ? errors[arm.name]!.0 : errors[arm.name]!.1
                try writeRun(directory, "\(arm.name)-seed\(seed)", [(10, 64, arm.configuration.copies, 0.9, 2.0, 5),
                                                                   (20, 64, arm.configuration.copies, final, 1.0, 7)])
            }
        }
        return try StudySummary(definition: definition, seeds: [1, 2], directory: directory)
    }

    @Test("a row: images = Σ M·B·steps, ‖g‖ weighted by steps, final and best error, training seconds")
    func rowArithmetic() throws {
        let directory = studyDirectory("row")
        defer { try? FileManager.default.removeItem(at: directory) }
        // 10 steps of 64×1, then 30 steps of 256×4 (a regime changed B and M), ‖g‖ 2.0 then 1.0.
        try writeRun(directory, "x", [(10, 64, 1, 0.40, 2.0, 5), (40, 256, 4, 0.45, 1.0, 7)])
        let row = try StudySummary.row(study: "s", arm: "x", seed: 1,
                                       run: Run(directory: directory.appendingPathComponent("runs/x")))
        #expect(row.images == 10 * 64 + 30 * 256 * 4)
        #expect(row.steps == 40 && row.epochs == 2 && row.batchSize == 64 && row.copies == 1)
        #expect(abs(row.gradientNorm - (10 * 2.0 + 30 * 1.0) / 40) < 1e-12)
        #expect(row.finalValidationError == 0.45 && row.bestValidationError == 0.40)
        #expect(row.wallSeconds == 12 && row.trainSamples == 1000 && row.model == "resnet8")
    }

    @Test("copies verdict: ranges apart below → reproduced; above → contradicted; overlapping → not reproduced")
    func copiesVerdicts() throws {
        let falling = try copiesSummary(["baseline": (0.30, 0.31), "ba-2": (0.29, 0.30), "ba-4": (0.28, 0.29),
                                         "ba-8": (0.26, 0.27)])
        #expect(falling.verdict.outcome == .reproduced)
        #expect(falling.verdict.evidence.last!.contains("falls"))
        let summaryCSV = falling.csv().split(separator: "\n")
        #expect(summaryCSV.first == Substring(StudySummary.csvColumns.joined(separator: ",")))
        #expect(summaryCSV.count == 9)

        let rising = try copiesSummary(["baseline": (0.30, 0.31), "ba-2": (0.31, 0.32), "ba-4": (0.32, 0.32),
                                        "ba-8": (0.33, 0.34)])
        #expect(rising.verdict.outcome == .contradicted)

        let noisy = try copiesSummary(["baseline": (0.30, 0.35), "ba-2": (0.29, 0.33), "ba-4": (0.31, 0.30),
                                       "ba-8": (0.29, 0.31)])
        #expect(noisy.verdict.outcome == .notReproduced)
        #expect(noisy.verdict.evidence.contains { $0.contains("within the seed spread") })
        #expect(noisy.spread("ba-8") { $0.finalValidationError } == StudySummary.Spread([0.29, 0.31]))
        #expect(noisy.markdown().contains("| ba-8 | 30.00 % [29.00–31.00]"))
    }

    @Test("gradient-norm verdict follows the per-seed ordering and the share of the large batch's reduction")
    func gradientNormVerdict() throws {
        let directory = studyDirectory("gnv")
        defer { try? FileManager.default.removeItem(at: directory) }
        var definition = StudyDefinition.make(.gradientNorm, scale: .small)
        var probe = definition.probe!
        probe.factors = [4]
        probe.points = [0]
        definition = StudyDefinition(name: definition.name, scale: definition.scale, arms: [], probe: probe,
                                     base: definition.base, design: definition.design)
        func write(baseline: Double, ba: Double, large: Double) throws -> StudySummary {
            for seed: UInt64 in [1, 2] {
                let m = { (arm: String, c: Int, b: Int, v: Double) in
                    GradientNormProbe.Measurement(arm: arm, copies: c, batchSize: b, norms: [v * 0.9, v * 1.1]) }
                try ProbeFile(epochs: 0, seed: seed, seconds: 1.5, measurements: [
                    m("baseline", 1, 64, baseline), m("ba-4", 4, 64, ba), m("large-4", 1, 256, large),
                ]).write(to: directory.appendingPathComponent("probe/epoch0-seed\(seed).csv"))
            }
            return try StudySummary(definition: definition, seeds: [1, 2], directory: directory)
        }
        // BA takes 20 % of the large batch's reduction (1 − 0.9 vs 1 − 0.5): reproduced.
        let expected = try write(baseline: 2.0, ba: 1.8, large: 1.0)
        #expect(expected.verdict.outcome == .reproduced)
        #expect(expected.rows.map(\.gradientNorm) == [2.0, 1.8, 1.0, 2.0, 1.8, 1.0].map { ($0 * 0.9 + $0 * 1.1) / 2 })
        #expect(expected.rows.first?.images == 2 * 64 && expected.rows[1].images == 2 * 4 * 64)
        #expect(expected.orderingLines == ["after 0 epochs: baseline 2 > ba-4 1.8 > large-4 1"])
        // BA as good as independent samples (100 % of the reduction): the order holds, the claim does not.
        #expect(try write(baseline: 2.0, ba: 1.0001, large: 1.0).verdict.outcome == .notReproduced)
        // BA below the large batch for every seed: contradicted.
        #expect(try write(baseline: 2.0, ba: 0.8, large: 1.0).verdict.outcome == .contradicted)
    }
}

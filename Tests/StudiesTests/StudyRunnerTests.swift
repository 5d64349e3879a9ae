import Checkpoints
import Collectives
import Foundation
import RunReport
import Testing
import Training
import Studies

/// A fresh directory for one study.
func studyDirectory(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("batchaug-study-\(name)-\(UUID().uuidString)")
}

/// The runner in this process (one rank), on tiny synthetic settings: an MLP, 256 training samples
/// (4 steps of 64 per epoch), 2 epochs.
@Suite("study runner", .serialized)
struct StudyRunnerTests {
    static let tiny = StudyOverrides(dataset: "synthetic", model: "mlp", trainSamples: 256, epochs: 2)
    static let job = JobDescription(version: "test", mpi: "none", blas: "test", hosts: ["here"])

    private func runner(_ name: StudyName = .copies, seeds: Int = 1, in directory: URL) -> StudyRunner {
        StudyRunner(definition: StudyDefinition.make(name, scale: .small, overrides: Self.tiny), seeds: seeds,
                    directory: directory, communicator: SingleProcessCommunicator(), job: Self.job, command: ["test"])
    }

    /// The final parameters of a run, by tensor name.
    private func parameters(_ run: URL) throws -> [String: [Float]] {
        var tensors: [String: [Float]] = [:]
        for tensor in try CheckpointStore.latest(in: run).tensors { tensors[tensor.name] = try tensor.values(as: Float.self) }
        return tensors
    }

    @Test("runs every arm and seed once, writes the summary; a rerun skips them all and writes the same summary")
    func runsThenSkips() throws {
        let directory = studyDirectory("skip")
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try runner(seeds: 2, in: directory).run()
        #expect(first.trained.count == 8 && first.skipped.isEmpty && first.resumed.isEmpty)
        let summary = try #require(first.summary)
        #expect(summary.rows.map(\.arm) == ["baseline", "baseline", "ba-2", "ba-2", "ba-4", "ba-4", "ba-8", "ba-8"])
        #expect(summary.rows.map(\.seed) == [1, 2, 1, 2, 1, 2, 1, 2])
        #expect(summary.rows.map(\.steps) == Array(repeating: 8, count: 8), "2 epochs of 256/64 steps")
        #expect(summary.rows.map(\.images) == [512, 512, 1024, 1024, 2048, 2048, 4096, 4096], "M·B·steps")
        let csv = try String(contentsOf: directory.appendingPathComponent("summary.csv"), encoding: .utf8)

        let second = try runner(seeds: 2, in: directory).run()
        #expect(second.trained.isEmpty && second.resumed.isEmpty && second.skipped.count == 8)
        #expect(try String(contentsOf: directory.appendingPathComponent("summary.csv"), encoding: .utf8) == csv)

        // More seeds later: the finished runs stay, only the new seed's runs train.
        let third = try runner(seeds: 3, in: directory).run()
        #expect(third.trained == ["baseline seed 3", "ba-2 seed 3", "ba-4 seed 3", "ba-8 seed 3"])
        #expect(third.summary?.rows.count == 12)
    }

    @Test("an interrupted arm resumes from its checkpoint and ends bit-identical to an uninterrupted one")
    func resumesInterrupted() throws {
        let whole = studyDirectory("whole"), interrupted = studyDirectory("interrupted")
        defer { for d in [whole, interrupted] { try? FileManager.default.removeItem(at: d) } }
        _ = try runner(in: whole).run()

        // The state a killed study leaves: baseline seed 1 stopped after 3 of its 8 steps, with the
        // checkpoint it wrote there (what `train --max-steps 3` writes), and nothing else yet.
        let study = runner(in: interrupted)
        var c = study.definition.arms[0].configuration
        c.seed = 1
        c.output = study.runDirectory(arm: "baseline", seed: 1).path
        c.maxSteps = 3
        _ = try Trainer(configuration: c, communicator: SingleProcessCommunicator(), job: Self.job).run()
        #expect(try CheckpointStore.latest(in: URL(fileURLWithPath: c.output!)).info.step == 3)

        let outcome = try study.run()
        #expect(outcome.resumed == ["baseline seed 1"])
        #expect(outcome.trained == ["ba-2 seed 1", "ba-4 seed 1", "ba-8 seed 1"])
        let a = try parameters(study.runDirectory(arm: "baseline", seed: 1))
        let b = try parameters(runner(in: whole).runDirectory(arm: "baseline", seed: 1))
        #expect(a.count == b.count && a == b, "resumed and uninterrupted runs differ")
        // results.csv holds each epoch once, as the uninterrupted run's does.
        let rows = { (run: URL) in try Run(directory: run).epochs.map(\.step) }
        #expect(try rows(study.runDirectory(arm: "baseline", seed: 1)) == [4, 8])
    }

    @Test("a run killed before its first checkpoint starts again; a run of other settings stops the study")
    func deadEndsAndConflicts() throws {
        let directory = studyDirectory("dead")
        defer { try? FileManager.default.removeItem(at: directory) }
        let study = runner(in: directory)
        let dead = study.runDirectory(arm: "ba-2", seed: 1)
        try FileManager.default.createDirectory(at: dead, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: dead.appendingPathComponent("config.json"))
        try Data("epoch,step\n".utf8).write(to: dead.appendingPathComponent("results.csv"))
        let outcome = try study.run()
        #expect(outcome.trained.contains("ba-2 seed 1"))
        #expect(try Run(directory: dead).epochs.count == 2)

        // The same directory, asked for another number of epochs: the finished runs are not this study's.
        let other = StudyRunner(definition: StudyDefinition.make(.copies, scale: .small, overrides: StudyOverrides(
            dataset: "synthetic", model: "mlp", trainSamples: 256, epochs: 3)), seeds: 1, directory: directory,
            communicator: SingleProcessCommunicator(), job: Self.job, command: ["test"])
        #expect {
            try other.run()
        } throws: { error in
            "\(error)".contains("epochs") && "\(error)".contains("choose another --output")
        }

        // A directory with files that no run writes is not removed.
        let foreign = study.runDirectory(arm: "baseline", seed: 7)
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: foreign.appendingPathComponent("notes.txt"))
        #expect(throws: StudyError.self) {
            try StudyRunner.state(of: foreign, configuration: study.definition.arms[0].configuration)
        }
        #expect(FileManager.default.fileExists(atPath: foreign.appendingPathComponent("notes.txt").path))
    }

    @Test("gradient norms: with no augmentation, M identical copies give the baseline's gradient; a larger batch does not")
    func probeCopiesWithoutAugmentation() throws {
        var definition = StudyDefinition.make(.gradientNorm, scale: .small, overrides: Self.tiny)
        var probe = try #require(definition.probe)
        probe.base.augment = "none"
        probe.factors = [2, 4]
        probe.batches = 3
        definition = StudyDefinition(name: definition.name, scale: definition.scale, arms: definition.arms, probe: probe,
                                     base: definition.base, design: definition.design)
        let measurements = try GradientNormProbe.measure(probe, seed: 1, restoringFrom: nil,
                                                         communicator: SingleProcessCommunicator())
        #expect(measurements.map(\.arm) == ["baseline", "ba-2", "large-2", "ba-4", "large-4"])
        #expect(measurements.allSatisfy { $0.norms.count == 3 && $0.norms.allSatisfy { $0.isFinite && $0 > 0 } })
        let baseline = measurements[0].norms
        for ba in [measurements[1], measurements[3]] {
            for (a, b) in zip(ba.norms, baseline) { #expect(abs(a - b) <= 1e-5 * b, "\(ba.arm): \(a) vs \(b)") }
        }
        #expect(zip(measurements[2].norms, baseline).contains { abs($0 - $1) > 1e-3 * $1 })
    }

    @Test("the gradient-norm study measures at both points, writes a file per point and seed, and skips them on a rerun")
    func gradientNormStudy() throws {
        let directory = studyDirectory("gn")
        defer { try? FileManager.default.removeItem(at: directory) }
        var definition = StudyDefinition.make(.gradientNorm, scale: .small, overrides: Self.tiny)
        var probe = try #require(definition.probe)
        probe.factors = [2]
        probe.batches = 2
        probe.points = [0, definition.arms[0].configuration.epochs]
        definition = StudyDefinition(name: definition.name, scale: definition.scale, arms: definition.arms, probe: probe,
                                     base: definition.base, design: definition.design)
        let make = { StudyRunner(definition: definition, seeds: 1, directory: directory,
                                 communicator: SingleProcessCommunicator(), job: Self.job, command: ["test"]) }
        let first = try make().run()
        #expect(first.measured.count == 2)
        let summary = try #require(first.summary)
        #expect(summary.rows.map(\.arm) == ["baseline", "ba-2", "large-2", "baseline", "ba-2", "large-2"])
        #expect(summary.rows.map(\.epochs) == [0, 0, 0, 3, 3, 3])
        #expect(summary.orderingLines.count == 2)
        let second = try make().run()
        #expect(second.measured.isEmpty && second.skipped == ["baseline-train seed 1"])
    }
}

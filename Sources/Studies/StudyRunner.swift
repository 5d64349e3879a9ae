import Checkpoints
import Collectives
import Engine
import Formatting
import Foundation
import JSON
import RunReport
import Training

/// Runs a study: its arms one after another through the trainer, each (arm, seed) a normal run
/// directory `DIR/runs/<arm>-seed<k>/`, then (for `gradient-norm`) the measurements at fixed
/// parameters into `DIR/probe/`, then the summary and the report of all runs.
///
/// A rerun picks up where the last one stopped: a finished run (its checkpoint at the last epoch)
/// is skipped, an interrupted one resumes from its checkpoint, bit-identically to an
/// uninterrupted run; a run killed before its first checkpoint starts again. A run directory that
/// holds another configuration (say, the study was rerun with other options into the same DIR)
/// stops the study with the option that differs: the study never mixes settings in one table.
///
/// Collective: every rank calls `run` with the same study. Rank 0 reads and writes the files and
/// tells the others what to do, so a study works on a cluster where only rank 0 sees DIR.
public final class StudyRunner {
    public let definition: StudyDefinition
    public let seeds: [UInt64]
    public let directory: URL
    let world: any Communicator
    let job: JobDescription
    /// The command line that started the study (recorded in study.json).
    let command: [String]

    public init(definition: StudyDefinition, seeds: Int, directory: URL, communicator: any Communicator,
                job: JobDescription, command: [String]) {
        self.definition = definition
        self.seeds = (1 ... max(seeds, 1)).map(UInt64.init)
        self.directory = directory
        world = communicator
        self.job = job
        self.command = command
    }

    /// The run directory of one arm and seed.
    public func runDirectory(arm: String, seed: UInt64) -> URL {
        directory.appendingPathComponent("runs/\(arm)-seed\(seed)")
    }

    /// The file of one gradient-norm measurement (one seed, one point).
    public func probeFile(epochs: Int, seed: UInt64) -> URL {
        directory.appendingPathComponent("probe/epoch\(epochs)-seed\(seed).csv")
    }

    /// What the study did, for the caller to print and for tests.
    public struct Outcome: Sendable {
        public var trained: [String] = []
        public var resumed: [String] = []
        public var skipped: [String] = []
        public var measured: [String] = []
        /// The summary (rank 0 only; nil elsewhere).
        public var summary: StudySummary?
    }

    /// Runs what is left of the study, then writes summary.csv, summary.md and the report.
    public func run() throws -> Outcome {
        var outcome = Outcome()
        try prepareDirectory()
        let runs = definition.arms.flatMap { arm in seeds.map { (arm, $0) } }
        for (index, (arm, seed)) in runs.enumerated() {
            let label = "\(arm.name) seed \(seed)"
            let run = runDirectory(arm: arm.name, seed: seed)
            var configuration = arm.configuration
            configuration.seed = seed
            configuration.output = run.path
            let state = try agreedState(of: run, configuration: configuration)
            let position = "[\(definition.name.rawValue) \(index + 1)/\(runs.count)] \(label)"
            switch state {
            case .finished:
                say("\(position): finished earlier, skipped")
                outcome.skipped.append(label)
                continue
            case .resumable:
                say("\(position): resuming from its checkpoint")
                configuration.resume = run.path
                outcome.resumed.append(label)
            case .fresh:
                say("\(position): starting")
                outcome.trained.append(label)
            }
            let options = try JSONValue(encoding: configuration).objectValue ?? [:]
            let trainer = try TrainingLauncher.prepare(configurationFile: nil, options: options, communicator: world,
                                                       job: job)
            _ = try trainer.run()
        }
        if let probe = definition.probe {
            for seed in seeds {
                for point in probe.points {
                    let label = "gradient norms after \(point) epochs, seed \(seed)"
                    if try agreed(world.isRoot && FileManager.default.fileExists(atPath: probeFile(epochs: point, seed: seed).path)) {
                        say("[\(definition.name.rawValue)] \(label): measured earlier, skipped")
                        continue
                    }
                    say("[\(definition.name.rawValue)] \(label): measuring \(probe.batches) batches of each kind")
                    try measure(probe, point: point, seed: seed)
                    outcome.measured.append(label)
                }
            }
        }
        outcome.summary = try world.collectivelyOnRoot {
            do {
                let summary = try StudySummary(definition: definition, seeds: seeds, directory: directory)
                try summary.write(to: directory)
                _ = try RunReport.write(runs: reportedRuns(), to: directory.appendingPathComponent("report.html"),
                                        title: "Study \(definition.name.rawValue) (\(definition.scale.rawValue)): "
                                            + "\(summary.verdict.outcome.rawValue)")
                return summary
            } catch {
                throw StudyError("cannot write the study's summary in \(directory.path): \(error)")
            }
        }
        return outcome
    }

    /// The runs the report overlays: every arm and seed of this study. The gradient-norm study adds
    /// the runs of a `copies` study beside it (`DIR/../copies`), if there is one, for their ‖g‖
    /// over training.
    func reportedRuns() -> [URL] {
        var runs = definition.arms.flatMap { arm in seeds.map { runDirectory(arm: arm.name, seed: $0) } }
        if definition.name == .gradientNorm {
            let copies = directory.deletingLastPathComponent().appendingPathComponent("copies/runs")
            let found = (try? FileManager.default.contentsOfDirectory(at: copies, includingPropertiesForKeys: nil)) ?? []
            runs += found.filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent(RunFiles.results).path) }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        }
        return runs
    }

    // MARK: - Runs

    public enum RunState: Int64, Sendable { case fresh, resumable, finished }

    /// Rank 0 decides what a run directory needs and every rank learns it.
    private func agreedState(of run: URL, configuration: TrainingConfiguration) throws -> RunState {
        var state = [try world.collectivelyOnRoot { try Self.state(of: run, configuration: configuration).rawValue }
                     ?? RunState.fresh.rawValue]
        try world.broadcast(&state, root: 0)
        return RunState(rawValue: state[0]) ?? .fresh
    }

    /// A run directory's state on disk: finished (a checkpoint after the last epoch), resumable (an
    /// earlier checkpoint), or fresh (nothing, or a run that died before its first checkpoint, whose
    /// files are removed so that it can start again). A checkpoint of another configuration is an error.
    public static func state(of run: URL, configuration: TrainingConfiguration) throws -> RunState {
        let files = FileManager.default
        guard files.fileExists(atPath: run.path) else { return .fresh }
        let checkpoint: Checkpoint
        do {
            checkpoint = try CheckpointStore.latest(in: run)
        } catch {
            // Only a run that never reached a checkpoint is started again; anything else in the
            // directory is not ours to remove.
            let contents = (try? files.contentsOfDirectory(atPath: run.path)) ?? []
            let foreign = contents.filter { !TrainingLauncher.isRunFile($0) }
            guard foreign.isEmpty else {
                throw StudyError("\(run.path) holds files no run of this study writes (\(foreign.sorted().joined(separator: ", "))) "
                                 + "and no checkpoint: move them away or choose another --output")
            }
            try files.removeItem(at: run)
            return .fresh
        }
        let saved: TrainingConfiguration
        do {
            saved = try TrainingConfiguration(options: checkpoint.info.configuration.objectValue ?? [:])
        } catch {
            throw StudyError("\(checkpoint.directory.path) holds no configuration of this tool: \(error)")
        }
        if let difference = try TrainingLauncher.lockedDifference(saved: saved, requested: configuration) {
            throw StudyError("\(run.path) holds a run with \(difference.option) \(difference.saved), this study asks for "
                             + "\(difference.requested): choose another --output for a study with other settings")
        }
        let epochs = configuration.epochs * configuration.regimeAdaptation
        return checkpoint.info.epoch >= epochs ? .finished : .resumable
    }

    // MARK: - Gradient norms

    private func measure(_ probe: GradientNormProbe.Settings, point: Int, seed: UInt64) throws {
        // The trained parameters: the training arm's checkpoint after `point` epochs (rank 0 reads it).
        let checkpoint: Checkpoint? = try world.collectivelyOnRoot { () throws -> Checkpoint? in
            guard point > 0 else { return nil }
            let run = runDirectory(arm: probe.trainingArm, seed: seed)
            let checkpoint = try CheckpointStore.latest(in: run)
            guard checkpoint.info.epoch == point else {
                throw StudyError("the checkpoint in \(run.path) is after epoch \(checkpoint.info.epoch), not \(point)")
            }
            return checkpoint
        } ?? nil
        let start = ContinuousClock.now
        let measurements = try GradientNormProbe.measure(probe, seed: seed, restoringFrom: checkpoint, communicator: world)
        let seconds = (ContinuousClock.now - start).seconds
        _ = try world.collectivelyOnRoot {
            do {
                try ProbeFile(epochs: point, seed: seed, seconds: seconds, measurements: measurements)
                    .write(to: probeFile(epochs: point, seed: seed))
            } catch {
                throw StudyError("cannot write \(probeFile(epochs: point, seed: seed).path): \(error)")
            }
        }
    }

    // MARK: - Helpers

    /// Creates DIR and writes study.json: what the study is, so a reader of DIR knows what ran.
    private func prepareDirectory() throws {
        _ = try world.collectivelyOnRoot {
            do {
                try FileManager.default.createDirectory(at: directory.appendingPathComponent("runs"),
                                                        withIntermediateDirectories: true)
                let description: JSONValue = .object([
                    "study": .string(definition.name.rawValue),
                    "scale": .string(definition.scale.rawValue),
                    "seeds": .number(seeds.count),
                    "claim": .string(definition.name.claim),
                    "design": .string(definition.design),
                    "command": .array(command.map(JSONValue.string)),
                    "arms": .array(try definition.arms.map { arm in
                        .object(["name": .string(arm.name), "configuration": try JSONValue(encoding: arm.configuration)])
                    }),
                    "ranks": .number(world.size),
                    "version": .string(job.version),
                ])
                try Data((try description.jsonText() + "\n").utf8).write(to: directory.appendingPathComponent("study.json"),
                                                                           options: .atomic)
            } catch {
                throw StudyError("--output \(directory.path): \(error.localizedDescription)")
            }
        }
    }

    /// A fact only rank 0 can see (a file), known to every rank.
    private func agreed(_ fact: Bool) throws -> Bool {
        var value = [Int64(fact ? 1 : 0)]
        try world.broadcast(&value, root: 0)
        return value[0] != 0
    }

    private func say(_ line: String) {
        guard world.isRoot else { return }
        print(line)
        fflush(nil)
    }
}

/// A study problem every rank stops on together.
public struct StudyError: CollectiveFailure, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

import Checkpoints
import Collectives
import Foundation
import JSON
import RunReport

/// Turns the command line into one configuration for every rank.
///
/// Rank 0 resolves it — defaults, then the checkpoint's configuration when resuming, then
/// `--config FILE.json`, then the flags given explicitly — and broadcasts it, so every rank trains
/// with the same configuration even if the files differ between nodes, and only rank 0 needs to
/// see the checkpoint and the configuration file.
public enum TrainingLauncher {
    /// `options` are the flags given on the command line, under their JSON names (typed: a
    /// 64-bit seed stays exact).
    public static func prepare(configurationFile: String?, options: [String: JSONValue],
                               communicator world: any Communicator, job: JobDescription) throws -> Trainer {
        let resolved = try world.collectivelyOnRoot {
            try resolve(configurationFile: configurationFile, options: options, worldSize: world.size)
        }
        let bytes = try world.broadcast(bytes: [UInt8](resolved?.configuration.json() ?? Data()), root: 0)
        let configuration = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(bytes))
        return try Trainer(configuration: configuration, communicator: world, job: job, resumeFrom: resolved?.checkpoint)
    }

    /// The merged configuration, and the checkpoint to resume from (rank 0 only): the defaults,
    /// then the checkpoint's configuration when resuming, then the file, then `options`.
    public static func resolve(configurationFile: String?, options given: [String: JSONValue],
                               worldSize: Int? = nil) throws -> (configuration: TrainingConfiguration, checkpoint: Checkpoint?) {
        let fileOptions = try configurationFile.map(readOptions) ?? [:]
        let options = try resumingOrStarting(given, fileOptions: fileOptions)
        var base = TrainingConfiguration()
        var checkpoint: Checkpoint? = nil
        var saved: TrainingConfiguration? = nil
        var restarting = false
        if case let .string(path)? = options["resume"] ?? fileOptions["resume"],
           let recorded = try restartOfDeadEnd(URL(fileURLWithPath: path)) {
            // A run killed before its first checkpoint: started again from the beginning.
            base = recorded
            base.output = path
            base.maxSteps = nil
            restarting = true
        } else if case let .string(path)? = options["resume"] ?? fileOptions["resume"] {
            let found: Checkpoint
            do {
                found = try CheckpointStore.latest(in: URL(fileURLWithPath: path))
            } catch {
                throw ConfigurationError(option: "resume", problem: "\(error)")
            }
            do {
                saved = try TrainingConfiguration(options: found.info.configuration.objectValue ?? [:])
            } catch {
                throw ConfigurationError(option: "resume", problem: "\(found.directory.path) holds no configuration of this tool: \(error)")
            }
            checkpoint = found
            base = saved!
            // A resumed run writes where the interrupted one did, unless told otherwise, and does
            // not inherit the step limit that may have stopped it.
            base.output = runDirectory(of: found).path
            base.maxSteps = nil
        }
        var merged = try TrainingConfiguration(options: fileOptions, over: base, source: configurationFile)
        merged = try TrainingConfiguration(options: options, over: merged)
        if restarting {
            if let difference = try lockedDifference(saved: base, requested: merged) {
                throw ConfigurationError(option: difference.option, problem: "\(difference.requested) differs from the recorded "
                    + "\(difference.saved) of the run being started again: --resume keeps its configuration")
            }
            merged.resume = nil
        }
        if merged.output == nil {
            let formatter = DateFormatter()
            formatter.dateFormat = "yyyyMMdd-HHmmss"
            formatter.locale = Locale(identifier: "en_US_POSIX")
            merged.output = defaultOutput(model: merged.model, dataset: merged.dataset, time: formatter.string(from: Date()))
        }
        if let saved, let difference = try lockedDifference(saved: saved, requested: merged) {
            throw ConfigurationError(
                option: difference.option,
                problem: "\(difference.requested) differs from the checkpoint's \(difference.saved): "
                    + "--resume continues the same configuration (start a new run to change it)")
        }
        if let checkpoint, let worldSize {
            try checkRanks(of: checkpoint, against: merged.simulateRanks > 1 ? merged.simulateRanks : worldSize)
        }
        return (merged, checkpoint)
    }

    /// `--resume-or-start DIR` as `--resume DIR` when DIR holds a run (its config.json or a
    /// checkpoint), else as `--output DIR`: a job script that is requeued runs the same command again.
    static func resumingOrStarting(_ options: [String: JSONValue], fileOptions: [String: JSONValue]) throws
        -> [String: JSONValue] {
        let key = TrainingConfiguration.CodingKeys.resumeOrStart.rawValue
        guard case let .string(path)? = options[key] ?? fileOptions[key] else { return options }
        for other in ["resume", "output"] where options[other] != nil || fileOptions[other] != nil {
            throw ConfigurationError(option: key, problem: "names the run directory itself: leave out --\(other)")
        }
        let run = URL(fileURLWithPath: path)
        let holdsRun = FileManager.default.fileExists(atPath: run.appendingPathComponent("config.json").path)
            || (try? CheckpointStore.latest(in: run)) != nil
        var resolved = options
        resolved[holdsRun ? "resume" : "output"] = .string(path)
        return resolved
    }

    /// Where a run writes when no --output is given (`time`: when it starts, yyyyMMdd-HHmmss).
    public static func defaultOutput(model: String, dataset: String, time: String) -> String {
        "runs/\(model)-\(dataset)-\(time)"
    }

    /// The first option a resumed run must keep (all but `TrainingConfiguration.mayChangeOnResume`)
    /// whose value differs between a saved run's configuration and a requested one, with both
    /// values as JSON text; nil if none does.
    public static func lockedDifference(saved: TrainingConfiguration, requested: TrainingConfiguration) throws
        -> (option: String, saved: String, requested: String)? {
        let before = try JSONValue(encoding: saved).objectValue ?? [:]
        let after = try JSONValue(encoding: requested).objectValue ?? [:]
        let locked = TrainingConfiguration.CodingKeys.allCases.filter { !TrainingConfiguration.mayChangeOnResume.contains($0) }
        guard let key = locked.first(where: { before[$0.rawValue] != after[$0.rawValue] }) else { return nil }
        return (key.rawValue, TrainingConfiguration.render(before[key.rawValue]), TrainingConfiguration.render(after[key.rawValue]))
    }

    /// The files a run writes into its output directory (besides its checkpoint): what a run that
    /// died before its first checkpoint leaves, and what starting it again removes.
    public static func isRunFile(_ name: String) -> Bool {
        [RunFiles.configuration, RunFiles.results, RunFiles.metrics, RunFiles.report, LiveViews.tensorboardDirectory,
         RunLock.fileName].contains(name)
            || (name.hasPrefix("report-") && name.hasSuffix(".svg")) || name.hasPrefix(".write-test-")
    }

    /// For `--resume DIR` on a run directory that holds a run's config.json but no checkpoint (the
    /// run was killed before its first one; a dead end: it already holds a run, and it has nothing
    /// to resume): removes that run's files and returns its recorded configuration, to start it
    /// again from the beginning, saying so. Nil for anything else (a checkpoint to resume, or not a
    /// run), which the resume then reports. Under the directory's lock: a run still starting is not
    /// a dead end.
    static func restartOfDeadEnd(_ run: URL) throws -> TrainingConfiguration? {
        let files = FileManager.default
        let recorded = run.appendingPathComponent(RunFiles.configuration)
        guard files.fileExists(atPath: recorded.path) else { return nil }
        do {
            _ = try CheckpointStore.latest(in: run)
            return nil
        } catch let error as CheckpointError {
            guard case .noCheckpoint = error.problem else { return nil }
        }
        let lock = try RunLock(directory: run, option: "resume")
        let configuration: TrainingConfiguration
        do {
            configuration = try TrainingConfiguration(options: try readOptions(recorded.path), source: recorded.path)
        } catch let error as ConfigurationError {
            throw ConfigurationError(option: "resume", problem: "\(run.path) has no checkpoint, and its config.json cannot start "
                                     + "the run again: \(error)")
        }
        let foreign = try files.contentsOfDirectory(atPath: run.path).filter { !isRunFile($0) }
        guard foreign.isEmpty else {
            throw ConfigurationError(option: "resume", problem: "\(run.path) has no checkpoint to resume, and holds files no run "
                                     + "writes (\(foreign.sorted().joined(separator: ", "))): move them away to start it again")
        }
        for name in try files.contentsOfDirectory(atPath: run.path) where name != RunLock.fileName {
            try files.removeItem(at: run.appendingPathComponent(name))
        }
        withExtendedLifetime(lock) {}
        print("--resume \(run.path): the run stopped before its first checkpoint; starting it again from the beginning "
              + "with its recorded configuration")
        fflush(nil)
        return configuration
    }

    /// A run continues on as many ranks as it had (the shards, orders and batch norm depend on it).
    static func checkRanks(of checkpoint: Checkpoint, against ranks: Int) throws {
        let saved = checkpoint.info.ranks
        guard saved >= 1 else {
            throw ConfigurationError(option: "resume", problem: "\(checkpoint.directory.appendingPathComponent(CheckpointStore.infoFileName).path) "
                + "says \"ranks\": \(saved); expected the number of ranks that wrote it, 1 or more")
        }
        guard saved == ranks else {
            throw ConfigurationError(option: "resume", problem: "the checkpoint in \(checkpoint.directory.path) was written "
                + "by a \(saved)-rank run; this run has \(ranks) rank\(ranks == 1 ? "" : "s") (resume needs the same number: "
                + (saved > 1 ? "mpirun -np \(saved), or --simulate-ranks \(saved) in one process)" : "run it without mpirun)"))
        }
    }

    /// The run directory a checkpoint belongs to (its parent, named by `CheckpointStore`).
    static func runDirectory(of checkpoint: Checkpoint) -> URL {
        checkpoint.directory.deletingLastPathComponent()
    }

    /// A configuration file's options: a flat object of options, or a run's config.json (whose
    /// "configuration" member is that object), so that `--config runs/x/config.json` repeats a run.
    static func readOptions(_ path: String) throws -> [String: JSONValue] {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ConfigurationError(option: "config", problem: "'\(path)' is a directory; expected a JSON file of options "
                                     + "(a run's config.json is one)")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError(option: "config", problem: "cannot read '\(path)': \(error.localizedDescription)")
        }
        guard let value = try? JSONValue(parsing: data), let object = value.objectValue else {
            throw ConfigurationError(option: "config", problem: "'\(path)' is not a JSON object of options")
        }
        if case let .object(inner)? = object["configuration"] { return inner }
        return object
    }
}

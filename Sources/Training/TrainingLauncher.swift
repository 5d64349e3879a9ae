import Checkpoints
import Collectives
import Foundation
import JSON

/// Turns the command line into one configuration for every rank.
///
/// Rank 0 resolves it — defaults, then the checkpoint's configuration when resuming, then
/// `--config FILE.json`, then the flags given explicitly — and broadcasts it, so every rank trains
/// with the same configuration even if the files differ between nodes, and only rank 0 needs to
/// see the checkpoint and the configuration file.
public enum TrainingLauncher {
    /// Options that a resumed run must keep: changing any of them would not continue the same
    /// run (bit-identical to an uninterrupted one). The others (where to log and write, how often,
    /// when to stop, the all-reduce algorithm, where the data is) may change.
    static let lockedOnResume: [TrainingConfiguration.CodingKeys] = [
        .dataset, .model, .epochs, .batchSize, .copies, .augment, .ghostBatchSize, .dropout, .learningRate, .momentum,
        .nesterov, .weightDecay, .gradientClip, .warmupEpochs, .learningRateScaling, .baseBatchSize, .regime,
        .regimeAdaptation, .seed,
    ]
    // --simulate-ranks is not locked: a K-rank run may be continued by K simulated ranks in one
    // process (to debug it locally) or the other way round; the number of ranks must match.

    public static func prepare(configurationFile: String?, options: [String: JSONValue],
                               communicator world: any Communicator, job: JobDescription) throws -> Trainer {
        let resolved = try world.collectivelyOnRoot {
            try resolve(configurationFile: configurationFile, options: options, worldSize: world.size)
        }
        let bytes = try world.broadcast(bytes: [UInt8](resolved?.0 ?? Data()), root: 0)
        let configuration = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(bytes))
        return try Trainer(configuration: configuration, communicator: world, job: job, resumeFrom: resolved?.1)
    }

    /// The merged configuration as JSON, and the checkpoint to resume from (rank 0 only): the
    /// defaults, then the checkpoint's configuration when resuming, then the file, then `options`.
    public static func resolve(configurationFile: String?, options: [String: JSONValue],
                               worldSize: Int? = nil) throws -> (Data, Checkpoint?) {
        var object = try JSONValue(encoding: TrainingConfiguration()).objectValue ?? [:]
        let fileObject = try configurationFile.map(readOptions)
        let resumePath: String? = {
            if case let .string(path)? = options["resume"] { return path }
            if case let .string(path)? = fileObject?["resume"] { return path }
            return nil
        }()
        var checkpoint: Checkpoint? = nil
        var saved: TrainingConfiguration? = nil
        if let resumePath {
            let found: Checkpoint
            do {
                found = try CheckpointStore.latest(in: URL(fileURLWithPath: resumePath))
            } catch {
                throw ConfigurationError(option: "resume", problem: "\(error)")
            }
            let previous: TrainingConfiguration
            do {
                previous = try found.info.decodeConfiguration(TrainingConfiguration.self)
            } catch {
                throw ConfigurationError(option: "resume", problem: "\(found.directory.path) holds no configuration of this tool: \(error)")
            }
            checkpoint = found
            saved = previous
            object.merge(try JSONValue(encoding: previous).objectValue ?? [:]) { $1 }
            // A resumed run writes where the interrupted one did, unless told otherwise, and does
            // not inherit the step limit that may have stopped it.
            object["output"] = .string(Self.runDirectory(of: found).path)
            object["max-steps"] = nil
        }
        if let fileObject { object.merge(fileObject) { $1 } }
        object.merge(options) { $1 }
        if object["output"] == nil || object["output"] == .null {
            let model = object["model"].flatMap { if case let .string(s) = $0 { s } else { nil } } ?? "model"
            let dataset = object["dataset"].flatMap { if case let .string(s) = $0 { s } else { nil } } ?? "data"
            let formatter = DateFormatter()
            formatter.dateFormat = "yyyyMMdd-HHmmss"
            formatter.locale = Locale(identifier: "en_US_POSIX")
            object["output"] = .string("runs/\(model)-\(dataset)-\(formatter.string(from: Date()))")
        }
        let merged = try decode(.object(object), source: configurationFile)
        if let saved {
            let before = try JSONValue(encoding: saved).objectValue ?? [:]
            let after = try JSONValue(encoding: merged).objectValue ?? [:]
            for key in lockedOnResume where before[key.rawValue] != after[key.rawValue] {
                throw ConfigurationError(
                    option: key.rawValue,
                    problem: "\(render(after[key.rawValue])) differs from the checkpoint's \(render(before[key.rawValue])): "
                        + "--resume continues the same configuration (start a new run to change it)")
            }
        }
        if let checkpoint, let worldSize {
            try checkRanks(of: checkpoint, against: merged.simulateRanks > 1 ? merged.simulateRanks : worldSize)
        }
        return (merged.json(), checkpoint)
    }

    /// A run continues on as many ranks as it had (the shards, orders and batch norm depend on it).
    static func checkRanks(of checkpoint: Checkpoint, against ranks: Int) throws {
        let saved = checkpoint.info.ranks
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
        _ = try decode(value, source: path)   // unknown keys and wrong types, named with the file
        return object
    }

    static func decode(_ value: JSONValue, source: String?) throws -> TrainingConfiguration {
        do {
            return try value.decode(TrainingConfiguration.self)
        } catch let error as ConfigurationError {
            throw ConfigurationError(option: error.option, problem: error.problem + (source.map { " (in \($0))" } ?? ""))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ConfigurationError(option: key, problem: "has a value of the wrong type" + (source.map { " (in \($0))" } ?? ""))
        } catch {
            throw ConfigurationError(option: "config", problem: "\(error)")
        }
    }

    private static func render(_ value: JSONValue?) -> String {
        guard let value, let text = try? value.jsonText() else { return "(unset)" }
        return text
    }
}

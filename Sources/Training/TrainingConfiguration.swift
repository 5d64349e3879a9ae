import Collectives
import Foundation
import JSON

/// Everything a training run is decided by. The JSON names are the command-line flag names
/// (`--batch-size` ↔ `"batch-size"`), so a `--config FILE.json` reads like the command line, and
/// `config.json` in the output directory can be fed back with `--config`.
///
/// Adding an option: a property with its default here (and its JSON name in `CodingKeys` when
/// that is not the property's name), and the flag in the `train` command (`TrainOptions`).
public struct TrainingConfiguration: Codable, Equatable, Sendable {
    // Data and model
    public var dataset = "synthetic"
    public var dataDirectory: String? = nil
    public var model = "cnn"
    public var epochs = 10
    /// Train on a fixed, seed-determined subset of this many training samples (nil: the whole split).
    public var trainSamples: Int? = nil
    /// Photographs (folder, shards): the side S of the S×S images the model takes (nil: 128).
    public var size: Int? = nil
    /// Folder: take this fraction of each class of train/ as the validation split (nil: val/).
    public var valFraction: Double? = nil
    /// Photographs: the most pixels an image may have (Pillow's MAX_IMAGE_PIXELS by default).
    public var maxImagePixels = 89_478_485
    /// Photographs: memory per rank for decoded training images kept between epochs ("512M"; "0": none).
    public var cacheDecoded = "0"

    // Batch: B distinct samples per step over all ranks, each in M augmented copies.
    public var batchSize = 128
    public var copies = 1
    public var augment: String? = nil
    public var ghostBatchSize: Int? = nil
    public var dropout = 0.0

    // Optimiser and schedule
    public var learningRate = 0.1
    public var momentum = 0.9
    public var nesterov = false
    public var weightDecay = 5e-4
    public var gradientClip: Double? = nil
    public var warmupEpochs = 0.0
    public var learningRateScaling = "none"
    public var baseBatchSize: Int? = nil
    public var regime = ""
    public var regimeAdaptation = 1

    // Mechanics
    public var allreduce = "auto"
    /// The all-reduce's bucket size ("256K", "1M"; "0": the whole gradient in one all-reduce after backward).
    public var bucketSize = "256K"
    /// Whether the buckets are all-reduced during backward: auto (where the all-reduce is a
    /// noticeable part of the step), on or off. The same bits either way.
    public var overlap = "auto"
    public var seed: UInt64 = 1
    public var output: String? = nil
    public var checkpointEvery = 1
    public var resume: String? = nil
    /// A run directory to resume if it holds a run, or to start a new run in (a job script that is
    /// requeued runs the same command again).
    public var resumeOrStart: String? = nil
    /// Signals that stop the run at a step boundary with a checkpoint (exit status 75); "none".
    public var stopSignals = "TERM,USR1"
    /// Seconds a collective may wait before the job ends naming the ranks that made no progress
    /// (0: no bound). Long enough for the slowest rank's evaluation and rank 0's checkpoint.
    public var collectiveTimeout = 600.0
    public var evalEvery = 1
    /// Also evaluate on the test set after every N-th step of the run (0: only at epoch ends).
    public var evalEverySteps = 0
    public var logEvery = 20
    public var maxSteps: Int? = nil
    public var simulateRanks = 1

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dataset, model, epochs, copies, augment, dropout, momentum, nesterov, regime, allreduce, overlap, seed, output, resume
        case dataDirectory = "data-dir"
        case batchSize = "batch-size"
        case ghostBatchSize = "ghost-batch-size"
        case learningRate = "lr"
        case weightDecay = "weight-decay"
        case gradientClip = "grad-clip"
        case warmupEpochs = "warmup-epochs"
        case learningRateScaling = "lr-scaling"
        case baseBatchSize = "base-batch-size"
        case regimeAdaptation = "regime-adaptation"
        case checkpointEvery = "checkpoint-every"
        case evalEvery = "eval-every"
        case evalEverySteps = "eval-every-steps"
        case logEvery = "log-every"
        case maxSteps = "max-steps"
        case simulateRanks = "simulate-ranks"
        case bucketSize = "bucket-size"
        case resumeOrStart = "resume-or-start"
        case stopSignals = "stop-signals"
        case collectiveTimeout = "collective-timeout"
        case trainSamples = "train-samples"
        case valFraction = "val-fraction"
        case maxImagePixels = "max-image-pixels"
        case cacheDecoded = "cache-decoded"
        case size
    }

    /// A configuration from a set of options (an object of the JSON names, such as a
    /// `--config` file or the flags given on the command line) over `base`: unknown names are
    /// errors (a typo must not silently train with a default), and a value of the wrong type is
    /// named by its option. An option set to null is unset: it takes its default. `source` (a
    /// file) is named in the errors.
    ///
    /// (The synthesized `init(from:)` decodes a complete configuration, as `encode(to:)` writes
    /// it; this initialiser is the one for a partial set of options.)
    public init(options: [String: JSONValue], over base: TrainingConfiguration = TrainingConfiguration(),
                source: String? = nil) throws {
        let inFile = source.map { " (in \($0))" } ?? ""
        let names = CodingKeys.allCases.map(\.rawValue)
        for key in options.keys.sorted() where !names.contains(key) {
            let suggestion = names.min { editDistance($0, key) < editDistance($1, key) }
            throw ConfigurationError(option: key, problem: "is not an option" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "")
                                     + inFile)
        }
        let defaults = try JSONValue(encoding: TrainingConfiguration()).objectValue ?? [:]
        func merging(_ options: [String: JSONValue], over base: [String: JSONValue]) throws -> TrainingConfiguration {
            var merged = base
            for (key, value) in options { merged[key] = value == .null ? defaults[key] : value }
            return try JSONValue.object(merged).decode(TrainingConfiguration.self)
        }
        do {
            self = try merging(options, over: try JSONValue(encoding: base).objectValue ?? [:])
        } catch is DecodingError {
            // Name the option: the first whose value alone does not decode.
            let culprit = options.keys.sorted().first { (try? merging([$0: options[$0]!], over: defaults)) == nil }
            throw ConfigurationError(option: culprit ?? "config",
                                     problem: "cannot be \(Self.render(culprit.flatMap { options[$0] })): "
                                        + "a value of the wrong type or out of range" + inFile)
        }
    }

    /// The options that may change when a run is resumed: where the run reads and writes, how
    /// often it logs, evaluates and checkpoints, when it stops, which all-reduce adds the gradients
    /// and in which buckets (the same sum; with more than two ranks, rounded in another order), whether during backward,
    /// whether the ranks are simulated (their number must match anyway), how the run stops and waits, and the
    /// decoded-image cache and image-size guard (a cached image is the bytes a fresh decode gives). Every other
    /// option changes the computation, and a resumed run must keep it: a new option is locked unless it is added here.
    static let mayChangeOnResume: Set<CodingKeys> = [
        .dataDirectory, .output, .resume, .checkpointEvery, .evalEvery, .evalEverySteps, .logEvery, .maxSteps, .allreduce, .simulateRanks,
        .bucketSize, .overlap, .resumeOrStart, .stopSignals, .collectiveTimeout, .cacheDecoded, .maxImagePixels,
    ]

    /// A value as it is written in JSON, for messages.
    static func render(_ value: JSONValue?) -> String {
        guard let value, let text = try? value.jsonText() else { return "(unset)" }
        return text
    }

    /// Checks the configuration for a job of `ranks` processes, as every rank does before any
    /// work: the first problem, named by its option, is thrown as a `ConfigurationError`.
    public func validate(ranks: Int) throws {
        _ = try RunPlan(self, worldSize: ranks)
    }

    /// The configuration as pretty JSON with sorted keys.
    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }
}

/// A configuration value that cannot work, named by its option.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable, Sendable, Failing {
    public var exitStatus: ExitStatus { .refused }
    public let option: String
    public let problem: String
    public init(option: String, problem: String) {
        self.option = option
        self.problem = problem
    }
    public var description: String { "--\(option) \(problem)" }
}

/// Levenshtein distance, for "did you mean" suggestions.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var previous = Array(0 ... b.count)
    for i in 1 ... max(a.count, 1) where !a.isEmpty {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1 ... max(b.count, 1) where !b.isEmpty {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return a.isEmpty ? b.count : previous[b.count]
}

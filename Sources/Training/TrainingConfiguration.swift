import Foundation

/// Everything a training run is decided by. The JSON names are the command-line flag names
/// (`--batch-size` ↔ `"batch-size"`), so a `--config FILE.json` reads like the command line, and
/// `config.json` in the output directory can be fed back with `--config`.
public struct TrainingConfiguration: Codable, Equatable, Sendable {
    // Data and model
    public var dataset = "synthetic"
    public var dataDirectory: String? = nil
    public var model = "cnn"
    public var epochs = 10
    /// Train on a fixed, seed-determined subset of this many training samples (nil: the whole split).
    public var trainSamples: Int? = nil

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
    public var seed: UInt64 = 1
    public var output: String? = nil
    public var checkpointEvery = 1
    public var resume: String? = nil
    public var evalEvery = 1
    public var logEvery = 20
    public var maxSteps: Int? = nil
    public var simulateRanks = 1

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dataset, model, epochs, copies, augment, dropout, momentum, nesterov, regime, allreduce, seed, output, resume
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
        case logEvery = "log-every"
        case maxSteps = "max-steps"
        case simulateRanks = "simulate-ranks"
        case trainSamples = "train-samples"
    }

    /// Reads the keys present in the file over the defaults; unknown keys are errors (a typo
    /// must not silently train with a default).
    public init(from decoder: Decoder) throws {
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        let raw = try decoder.container(keyedBy: AnyKey.self)
        for key in raw.allKeys where !known.contains(key.stringValue) {
            let suggestion = CodingKeys.allCases.map(\.rawValue).min { editDistance($0, key.stringValue) < editDistance($1, key.stringValue) }
            throw ConfigurationError(option: key.stringValue,
                                     problem: "is not an option" + (suggestion.map { " (did you mean '\($0)'?)" } ?? ""))
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var d = TrainingConfiguration()
        func read<T: Decodable>(_ key: CodingKeys, _ target: inout T) throws {
            if let value = try c.decodeIfPresent(T.self, forKey: key) { target = value }
        }
        func readOptional<T: Decodable>(_ key: CodingKeys, _ target: inout T?) throws {
            if c.contains(key) { target = try c.decodeIfPresent(T.self, forKey: key) }
        }
        try read(.dataset, &d.dataset); try readOptional(.dataDirectory, &d.dataDirectory)
        try read(.model, &d.model); try read(.epochs, &d.epochs)
        try read(.batchSize, &d.batchSize); try read(.copies, &d.copies); try readOptional(.augment, &d.augment)
        try readOptional(.ghostBatchSize, &d.ghostBatchSize); try read(.dropout, &d.dropout)
        try read(.learningRate, &d.learningRate); try read(.momentum, &d.momentum); try read(.nesterov, &d.nesterov)
        try read(.weightDecay, &d.weightDecay); try readOptional(.gradientClip, &d.gradientClip)
        try read(.warmupEpochs, &d.warmupEpochs); try read(.learningRateScaling, &d.learningRateScaling)
        try readOptional(.baseBatchSize, &d.baseBatchSize); try read(.regime, &d.regime)
        try read(.regimeAdaptation, &d.regimeAdaptation); try read(.allreduce, &d.allreduce); try read(.seed, &d.seed)
        try readOptional(.output, &d.output); try read(.checkpointEvery, &d.checkpointEvery)
        try readOptional(.resume, &d.resume); try read(.evalEvery, &d.evalEvery); try read(.logEvery, &d.logEvery)
        try readOptional(.maxSteps, &d.maxSteps); try read(.simulateRanks, &d.simulateRanks)
        try readOptional(.trainSamples, &d.trainSamples)
        self = d
    }

    /// Checks the configuration for a job of `ranks` processes, as every rank does before any
    /// work: the first problem, named by its option, is thrown as a `ConfigurationError`.
    public func validate(ranks: Int) throws {
        _ = try RunPlan(self, worldSize: ranks)
    }

    /// Loads a configuration file; errors name the file.
    public static func load(contentsOf path: String) throws -> TrainingConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError(option: "config", problem: "cannot read '\(path)': \(error.localizedDescription)")
        }
        do {
            return try JSONDecoder().decode(TrainingConfiguration.self, from: data)
        } catch let error as ConfigurationError {
            throw ConfigurationError(option: error.option, problem: "\(error.problem) (in \(path))")
        } catch let DecodingError.typeMismatch(type, context), let DecodingError.valueNotFound(type, context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ConfigurationError(option: key, problem: "must be \(Self.describe(type)) (in \(path))")
        } catch {
            throw ConfigurationError(option: "config", problem: "'\(path)' is not a JSON object of options: \(error)")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int?.Type, is UInt64.Type: "an integer"
        case is Double.Type, is Double?.Type: "a number"
        case is Bool.Type: "true or false"
        default: "a string"
        }
    }

    /// The configuration as pretty JSON with sorted keys.
    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }
}

/// A configuration value that cannot work, named by its option.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable, Sendable {
    public let option: String
    public let problem: String
    public init(option: String, problem: String) {
        self.option = option
        self.problem = problem
    }
    public var description: String { "--\(option) \(problem)" }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
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

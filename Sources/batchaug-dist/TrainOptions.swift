import ArgumentParser
import Augmentation
import Engine
import JSON
import RunReport
import Training

/// The configuration's defaults, as the help texts show them: each is stated once, in
/// `TrainingConfiguration`.
let trainingDefaults = TrainingConfiguration()

/// The flags of `train` that set configuration options. Each property's name is its flag's
/// (swift-argument-parser derives `--batch-size` from `batchSize`) and, in kebab case, the
/// option's JSON name (`TrainingConfiguration.CodingKeys`); a flag not given is nil. Encoded, the
/// flags given are the configuration's overrides, typed (a 64-bit seed stays exact): no option is
/// listed again anywhere else, and a help text shows its default from `trainingDefaults`, never
/// restated. Adding an option is one property here and one in `TrainingConfiguration`.
struct TrainOptions: ParsableArguments, Encodable {
    @Option(help: ArgumentHelp("Dataset: synthetic, cifar10, cifar100, mnist, fashion-mnist, folder (your JPEG/PNG photos in "
                               + "class folders) or shards (tar shards from `data pack`) (default \(trainingDefaults.dataset))."))
    var dataset: String?
    @Option(help: "Directory of the dataset files (fashion-mnist defaults to Debian's copy; folder: the one holding train/<class>/ and val/<class>/).")
    var dataDir: String?
    @Option(help: "folder, shards: the side S of the S×S images the model takes (default \(PhotoGeometry.defaultSize)).")
    var size: Int?
    @Option(help: "folder: take this fraction of each class of train/ as the validation split instead of val/.")
    var valFraction: Double?
    @Option(help: "folder, shards: refuse images of more pixels, before decoding them, as Pillow does (default \(trainingDefaults.maxImagePixels)).")
    var maxImagePixels: Int?
    @Option(help: ArgumentHelp("folder, shards: keep decoded training images in memory up to this size per rank, e.g. 512M, "
                               + "or 0 for none (default \(trainingDefaults.cacheDecoded))."))
    var cacheDecoded: String?
    @Option(help: "Model: \(ModelZoo.examples.joined(separator: ", ")) (default \(trainingDefaults.model)).") var model: String?
    @Option(help: "Epochs (default \(trainingDefaults.epochs)).") var epochs: Int?
    @Option(help: "Train on a fixed, seed-determined subset of this many training samples (default: all).")
    var trainSamples: Int?
    @Option(help: "B: distinct samples per step over all ranks (default \(trainingDefaults.batchSize)).") var batchSize: Int?
    @Option(help: "M: augmented copies of each sample per step; the effective batch is M·B (default \(trainingDefaults.copies)).")
    var copies: Int?
    @Option(help: "Transforms, e.g. crop,flip,cutout or crop=2 or rrc or none (default: the dataset's).") var augment: String?
    @Option(help: "G: images per batch-norm group (default: each rank's whole M·B/N batch).") var ghostBatchSize: Int?
    @Option(help: ArgumentHelp("Dropout probability at the model's dropout sites; each copy of a sample gets its own mask "
                               + "(default \(trainingDefaults.dropout))."))
    var dropout: Double?
    @Option(help: "Learning rate (default \(trainingDefaults.learningRate); constant unless --regime or --warmup-epochs changes it).")
    var lr: Double?
    @Option(help: "Momentum (default \(trainingDefaults.momentum)).") var momentum: Double?
    @Flag(inversion: .prefixedNo, help: "Nesterov momentum (default \(trainingDefaults.nesterov ? "on" : "off")).")
    var nesterov: Bool?
    @Option(help: "Weight decay on conv and linear weights (default \(trainingDefaults.weightDecay)).") var weightDecay: Double?
    @Option(help: "Clip the global gradient L2 norm to this value.") var gradClip: Double?
    @Option(help: "Linear learning-rate warm-up over this many epochs, fractions allowed (default \(trainingDefaults.warmupEpochs)).")
    var warmupEpochs: Double?
    @Option(help: ArgumentHelp("Scale the learning rate by the effective batch M·B over --base-batch-size: none, linear or sqrt "
                               + "(default \(trainingDefaults.learningRateScaling))."))
    var lrScaling: String?
    @Option(help: "The batch the learning rate was tuned for (default: the first epoch's M·B).") var baseBatchSize: Int?
    @Option(help: "From an epoch on, set lr, momentum, weight-decay, copies or batch-size, e.g. \"0:lr=0.1;30:copies=8\".")
    var regime: String?
    @Option(help: ArgumentHelp("Regime adaptation: multiply every regime epoch and the epoch count by K "
                               + "(default \(trainingDefaults.regimeAdaptation))."))
    var regimeAdaptation: Int?
    @Option(help: ArgumentHelp("Gradient all-reduce: auto (the faster of ring and mpi, measured at start-up), ring or mpi "
                               + "(default \(trainingDefaults.allreduce))."))
    var allreduce: String?
    @Option(help: ArgumentHelp("All-reduce the gradient in buckets of this size, each started during backward once its layers are done "
                               + "(0: one all-reduce after backward; default \(trainingDefaults.bucketSize))."))
    var bucketSize: String?
    @Option(help: "Resume the run in this directory if it holds one, else start a new run there (a requeued job script runs the same command again).")
    var resumeOrStart: String?
    @Option(help: ArgumentHelp("Signals that stop the run after the current step with a checkpoint, exit status 75 "
                               + "(default \(trainingDefaults.stopSignals); none)."))
    var stopSignals: String?
    @Option(help: ArgumentHelp("Seconds a collective may wait before the job ends naming the ranks that made no progress "
                               + "(default \(trainingDefaults.collectiveTimeout); 0: no bound)."))
    var collectiveTimeout: Double?
    @Option(help: ArgumentHelp("All-reduce the buckets during backward: auto (when the all-reduce takes 2 % or more of a step's "
                               + "forward and backward), on or off; the same bits either way (default \(trainingDefaults.overlap))."))
    var overlap: String?
    @Option(help: "Seed of everything random, 0 to 2^64-1 (default \(trainingDefaults.seed)).") var seed: UInt64?
    @Option(help: ArgumentHelp("Directory for \(RunFiles.configuration), \(RunFiles.results), \(RunFiles.metrics) and checkpoints "
                               + "(default \(TrainingLauncher.defaultOutput(model: "<model>", dataset: "<dataset>", time: "<time>")))."))
    var output: String?
    @Option(help: "Checkpoint every N epochs, and at the end; 0 = only at the end (default \(trainingDefaults.checkpointEvery)).")
    var checkpointEvery: Int?
    @Option(help: "Continue from the last complete checkpoint in this run (or checkpoint) directory.") var resume: String?
    @Option(help: "Evaluate on the test set every N epochs, and at the end; 0 = only at the end (default \(trainingDefaults.evalEvery)).")
    var evalEvery: Int?
    @Option(help: ArgumentHelp("Also evaluate on the test set after every N-th step of the run, 0 = at epoch ends only; the "
                               + "step lines of metrics.jsonl there get val_loss and val_error (default \(trainingDefaults.evalEverySteps))."))
    var evalEverySteps: Int?
    @Option(help: "Print a progress line every N steps (default \(trainingDefaults.logEvery)).") var logEvery: Int?
    @Option(help: "Stop after this many steps in all (for debugging).") var maxSteps: Int?
    @Option(help: "Lay out data and batch norm as K ranks would, in this one process (for debugging a K-rank run).")
    var simulateRanks: Int?

    /// Real-valued flags must be numbers (swift-argument-parser accepts "nan" and "inf").
    func validate() throws {
        let reals: [(String, Double?)] = [("lr", lr), ("momentum", momentum), ("weight-decay", weightDecay), ("grad-clip", gradClip),
                                          ("warmup-epochs", warmupEpochs), ("dropout", dropout), ("val-fraction", valFraction)]
        for case let (name, value?) in reals where !value.isFinite {
            throw ValidationError("--\(name) must be a finite number, got \(value)")
        }
    }

    /// The options given on the command line, under their JSON names.
    func given() throws -> [String: JSONValue] {
        var given: [String: JSONValue] = [:]
        for (property, value) in try JSONValue(encoding: self).objectValue ?? [:] where value != .null {
            given[Self.jsonName(property)] = value
        }
        return given
    }

    /// `batchSize` → `batch-size`: the flag's name, as swift-argument-parser derives it.
    static func jsonName(_ property: String) -> String {
        property.reduce(into: "") { name, character in
            if character.isUppercase { name += "-" + character.lowercased() } else { name.append(character) }
        }
    }
}

// Encoded, a flag is its value (nil when not given): what makes `TrainOptions` encodable.
extension Option: @retroactive Encodable where Value: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue)
    }
}

extension Flag: @retroactive Encodable where Value: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue)
    }
}

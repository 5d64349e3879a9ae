import ArgumentParser
import Collectives
import Engine
import Foundation
import JSON
import SwiftMPI
import Training

/// `batchaug-dist train`: distributed data-parallel training with batch augmentation.
/// Every option can also come from `--config FILE.json` (same names); flags override the file.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model with batch augmentation, data-parallel over the MPI ranks.",
        discussion: """
            Each step, every rank takes its B/N samples, makes M augmented copies of each (--copies), \
            computes gradients in ghost batches of G (--ghost-batch-size), and the ranks sum them with a \
            ring all-reduce. With no options it trains a small CNN on the synthetic dataset.
            Epochs count from 0 in the regime, the logs and the files.
            """)

    @Option(help: ArgumentHelp("A JSON object of options (the names of these flags without '--'); flags override it.",
                               valueName: "file"))
    var config: String?

    @Option(help: "Dataset: synthetic, cifar10, cifar100, mnist, fashion-mnist (default synthetic).") var dataset: String?
    @Option(name: .customLong("data-dir"), help: "Directory of the dataset files (fashion-mnist defaults to Debian's copy).")
    var dataDirectory: String?
    @Option(help: "Model: \(ModelZoo.examples.joined(separator: ", ")) (default cnn).") var model: String?
    @Option(help: "Epochs (default 10).") var epochs: Int?
    @Option(help: "B: distinct samples per step over all ranks (default 128).") var batchSize: Int?
    @Option(help: "M: augmented copies of each sample per step; the effective batch is M·B (default 1).") var copies: Int?
    @Option(help: "Transforms, e.g. crop,flip,cutout or crop=2 or rrc or none (default: the dataset's).") var augment: String?
    @Option(help: "G: images per batch-norm group (default: each rank's whole M·B/N batch).") var ghostBatchSize: Int?
    @Option(help: "Dropout probability at the model's dropout sites; each copy of a sample gets its own mask.") var dropout: Double?
    @Option(help: "Learning rate (default 0.1; constant unless --regime or --warmup-epochs changes it).") var lr: Double?
    @Option(help: "Momentum (default 0.9).") var momentum: Double?
    @Flag(help: "Nesterov momentum.") var nesterov = false
    @Option(help: "Weight decay on conv and linear weights (default 5e-4).") var weightDecay: Double?
    @Option(help: "Clip the global gradient L2 norm to this value.") var gradClip: Double?
    @Option(help: "Linear learning-rate warm-up over this many epochs (fractions allowed).") var warmupEpochs: Double?
    @Option(help: "Scale the learning rate by the effective batch M·B over --base-batch-size: none, linear or sqrt.")
    var lrScaling: String?
    @Option(help: "The batch the learning rate was tuned for (default: the first epoch's M·B).") var baseBatchSize: Int?
    @Option(help: "From an epoch on, set lr, momentum, weight-decay, copies or batch-size, e.g. \"0:lr=0.1;30:copies=8\".")
    var regime: String?
    @Option(help: "Regime adaptation: multiply every regime epoch and the epoch count by K.") var regimeAdaptation: Int?
    @Option(help: "Gradient all-reduce: ring or mpi (default ring).") var allreduce: String?
    @Option(help: "Seed of everything random (default 1).") var seed: UInt64?
    @Option(help: "Directory for config.json, results.csv, metrics.jsonl and checkpoints (default runs/<model>-<dataset>-<time>).")
    var output: String?
    @Option(help: "Checkpoint every N epochs, and at the end; 0 = only at the end (default 1).") var checkpointEvery: Int?
    @Option(help: "Continue from the last complete checkpoint in this run (or checkpoint) directory.") var resume: String?
    @Option(help: "Evaluate on the test set every N epochs, and at the end; 0 = only at the end (default 1).") var evalEvery: Int?
    @Option(help: "Print a progress line every N steps (default 20).") var logEvery: Int?
    @Option(help: "Stop after this many steps in all (for debugging).") var maxSteps: Int?
    @Option(help: "Lay out data and batch norm as K ranks would, in this one process (for debugging a K-rank run).")
    var simulateRanks: Int?

    @Flag(help: .hidden) var debugRankChecksums = false

    /// The options given on the command line, under their configuration names.
    func explicitOptions() -> [String: JSONValue] {
        var options: [String: JSONValue] = [:]
        func put(_ key: String, _ value: String?) { if let value { options[key] = .string(value) } }
        func put(_ key: String, _ value: Int?) { if let value { options[key] = .number(Double(value)) } }
        func put(_ key: String, _ value: Double?) { if let value { options[key] = .number(value) } }
        put("dataset", dataset); put("data-dir", dataDirectory); put("model", model); put("epochs", epochs)
        put("batch-size", batchSize); put("copies", copies); put("augment", augment)
        put("ghost-batch-size", ghostBatchSize); put("dropout", dropout); put("lr", lr); put("momentum", momentum)
        if nesterov { options["nesterov"] = .bool(true) }
        put("weight-decay", weightDecay); put("grad-clip", gradClip); put("warmup-epochs", warmupEpochs)
        put("lr-scaling", lrScaling); put("base-batch-size", baseBatchSize); put("regime", regime)
        put("regime-adaptation", regimeAdaptation); put("allreduce", allreduce)
        if let seed { options["seed"] = .number(Double(seed)) }
        put("output", output); put("checkpoint-every", checkpointEvery); put("resume", resume)
        put("eval-every", evalEvery); put("log-every", logEvery); put("max-steps", maxSteps)
        put("simulate-ranks", simulateRanks)
        return options
    }

    func run() throws {
        let options = explicitOptions()
        try runJob { world in
            BLAS.useOneThreadPerRank()
            let job = JobDescription(version: BuildInfo.version, mpi: MPIRuntime.libraryVersion,
                                     blas: BLAS.description,
                                     hosts: try world.allgather(try MPIRuntime.processorName()))
            let trainer = try TrainingLauncher.prepare(configurationFile: config, options: options, communicator: world,
                                                       job: job)
            let summary = try trainer.run()
            if debugRankChecksums {
                // Every rank reports its own parameters (tests compare them across processes).
                print("rank \(world.rank) parameter checksum \(String(summary.parameterChecksum, radix: 16))")
                fflush(nil)
            }
        }
    }
}

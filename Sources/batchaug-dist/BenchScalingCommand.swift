import ArgumentParser
import Augmentation
import Benchmarks
import Collectives
import Datasets
import Engine
import Formatting

/// `batchaug-dist bench scaling`: images/s of the training step on one rank and on all N ranks of
/// the job, measured in one run, and the share of the step spent in the gradient all-reduce.
struct ScalingBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling",
        abstract: "Training throughput on 1 rank and on all ranks, measured in one run; all-reduce share of a step.",
        discussion: """
            Run under mpirun -np N. First rank 0 trains alone (the other ranks sleep, leaving it the \
            machine), then all N ranks train together, each with the same per-rank batch. Speedup is \
            N-rank images/s over 1-rank images/s.
            """)

    @Option(help: "Model.") var model = "resnet20"
    @Option(help: ArgumentHelp("Dataset: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "name"),
            transform: AugmentBench.datasetKind)
    var dataset: DatasetKind = .synthetic
    @Option(name: .customLong("data-dir"), help: "Directory of the dataset's files.") var dataDirectory: String?
    @Option(help: "b: samples per rank per step.") var batchSize = 64
    @Option(help: "M: augmented copies per sample.") var copies = 1
    @Option(help: "Transforms (default: the dataset's).") var augment: String?
    @Option(help: "G: images per batch-norm group (default: the rank's whole batch).") var ghostBatchSize: Int?
    @Option(help: "Gradient all-reduce: ring or mpi.") var allreduce = "ring"
    @Option(help: "All-reduce the gradient in buckets of this size, started during backward (0: one all-reduce after it).")
    var bucketSize = trainingDefaults.bucketSize
    @Option(help: "All-reduce the buckets during backward: auto (decided after the first steps, as train does), on or off.")
    var overlap: String = trainingDefaults.overlap
    @Option(help: "Timed steps per phase.") var steps = 30
    @Option(help: "Untimed steps before them.") var warmup = 3
    @Flag(help: "One JSON object per phase instead of the table.") var json = false

    func validate() throws {
        guard !dataset.isPhotos else {
            throw ValidationError("--dataset \(dataset.rawValue): bench scaling measures datasets of records in memory "
                + "(bench augment --dataset \(dataset.rawValue) measures photographs)")
        }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        guard copies >= 1 else { throw ValidationError("--copies must be at least 1, got \(copies)") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative, got \(warmup)") }
        guard AllreduceAlgorithm(rawValue: allreduce) != nil else {
            throw ValidationError("--allreduce must be ring or mpi, got '\(allreduce)'")
        }
        do { _ = try ModelZoo.Architecture(model) } catch { throw ValidationError("--model: \(error)") }
        do { _ = try ByteSize.parse(bucketSize) } catch { throw ValidationError("--bucket-size: \(error)") }
        guard Overlap(rawValue: overlap) != nil else {
            throw ValidationError("--overlap must be \(Overlap.names.joined(separator: ", ")), got '\(overlap)'")
        }
        _ = try transforms()
    }

    func run() throws {
        let benchmark = ScalingBenchmark(.init(
            model: model, dataset: dataset, directory: dataDirectory, transforms: try transforms(),
            batchPerRank: batchSize, copies: copies, ghostBatchSize: ghostBatchSize,
            algorithm: AllreduceAlgorithm(rawValue: allreduce)!, steps: steps, warmup: warmup, seed: 1,
            bucketBytes: try ByteSize.parse(bucketSize), overlap: Overlap(rawValue: overlap)!))
        try runJob { world in
            let phases = try benchmark.run(on: world)
            guard world.isRoot else { return }
            let report = ScalingReport(model: model, dataset: dataset.rawValue, batchPerRank: batchSize, copies: copies,
                                       algorithm: AllreduceAlgorithm(rawValue: allreduce)!, phases: phases)
            print(json ? report.jsonLines() : report.table())
        }
    }

    private func transforms() throws -> [Transform] {
        guard let augment else { return DatasetDescriptor.of(dataset).defaultTransforms }
        do { return try Transform.parseList(augment) } catch { throw ValidationError("--augment: \(error)") }
    }
}

import ArgumentParser
import Augmentation
import Benchmarks
import Collectives
import Datasets
import Foundation

/// `batchaug-dist bench augment` (issue 4): augmented images per second on one core for each
/// number of copies M, and the bytes read from disk per epoch (which must not grow with M).
/// Under mpirun every rank measures its own shard on its own core; rank 0 prints its figures.
struct AugmentBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "augment", abstract: "Augmented images per second on one core, and bytes read per epoch.",
        discussion: """
            For each M: load this rank's shard of the training set (counting bytes read), then run one \
            epoch of batches of b samples × M copies (or the first --steps steps). \
            bytes_read_per_epoch = bytes read by the load + bytes read during the steps.
            """)

    @Option(help: ArgumentHelp("Dataset: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")).",
                               valueName: "name"),
            transform: AugmentBench.datasetKind)
    var dataset: DatasetKind = .synthetic

    @Option(help: ArgumentHelp("Directory of the dataset's files (default: the dataset's own, if any).", valueName: "dir"))
    var dataDir: String?

    @Option(help: ArgumentHelp("Transforms, e.g. crop=4,flip,cutout=1x16, rrc, none.", valueName: "list"))
    var augment = "crop,flip,cutout"

    @Option(help: ArgumentHelp("Copies per sample (M), comma-separated.", valueName: "list"), transform: Parse.counts)
    var copies: [Int] = [1, 4, 16]

    @Option(help: "Samples per step on this rank (b).")
    var batchSize = 128

    @Option(help: "At most this many steps per M (default: one whole epoch).")
    var steps: Int?

    @Option(help: "Seed of the epoch order and the augmentation draws.")
    var seed: UInt64 = 0

    @Flag(help: "One JSON object per line (per M) instead of a table.")
    var json = false

    func validate() throws {
        _ = try transforms()
        if copies.contains(0) { throw ValidationError("--copies must be at least 1 each, got \(copies)") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
    }

    func run() throws {
        let transforms = try transforms()
        try runJob { world in
            let benchmark = AugmentBenchmark(.init(
                dataset: dataset, directory: dataDir, transforms: transforms, batchSize: batchSize, steps: steps,
                seed: seed, rank: world.rank, ranks: world.size))
            var table = AugmentTable()
            for m in copies {
                let result = try world.collectively { try benchmark.measure(copies: m) }
                guard world.isRoot else { continue }
                if json { print(result.jsonLine()) } else { table.add(result) }
                fflush(nil)
            }
            if world.isRoot && !json { print(table.render()) }
        }
    }

    private func transforms() throws -> [Transform] {
        do { return try Transform.parseList(augment) } catch { throw ValidationError("--augment: \(error)") }
    }

    static func datasetKind(_ name: String) throws -> DatasetKind {
        guard let kind = DatasetKind(rawValue: name.lowercased()) else {
            throw ValidationError("unknown dataset '\(name)' (known: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return kind
    }
}

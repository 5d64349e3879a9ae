import ArgumentParser
import Augmentation
import Benchmarks
import Collectives
import Datasets
import Formatting
import Foundation

/// `batchaug-dist bench augment` (issue 4): augmented images per second on one core for each
/// number of copies M, and the bytes read from disk per epoch (which must not grow with M).
/// Under mpirun every rank measures its own shard on its own core; rank 0 prints its figures.
struct AugmentBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "augment", abstract: "Augmented images per second on one core, and bytes read per epoch.",
        discussion: """
            For each M: load this rank's shard of the training set (counting bytes read), then run one \
            epoch of batches of b samples × M copies (or --steps steps). \
            bytes_read_per_epoch = bytes read by the load + bytes read during the steps. \
            With --dataset folder or shards, for each --size S and each M: every step reads and decodes its \
            b photographs once and makes their M copies at S×S; the table gives images/s per core, the \
            decode share and the speed-up over M = 1.
            """)

    @Option(help: ArgumentHelp("Dataset: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")).",
                               valueName: "name"),
            transform: AugmentBench.datasetKind)
    var dataset: DatasetKind = .synthetic

    @Option(help: ArgumentHelp("Directory of the dataset's files (default: the dataset's own, if any).", valueName: "dir"))
    var dataDir: String?

    @Option(help: ArgumentHelp("Transforms, e.g. crop=4,flip,cutout=1x16, rrc, none (default crop,flip,cutout; photographs: rrc,flip).",
                               valueName: "list"))
    var augment: String?

    @Option(help: ArgumentHelp("Copies per sample (M), comma-separated (default 1,4,16; photographs: 1,2,4,8).", valueName: "list"),
            transform: Parse.counts)
    var copies: [Int]?

    @Option(help: ArgumentHelp("folder, shards: image sides S, comma-separated (default 64,128,224).", valueName: "list"),
            transform: Parse.counts)
    var size: [Int]?

    @Option(help: "folder, shards: refuse images of more pixels (default 89478485, as Pillow).")
    var maxImagePixels = ImageDecoder.defaultMaxPixels

    @Option(help: "folder, shards: keep decoded images in memory up to this size, e.g. 256M (default 0: none).")
    var cacheDecoded = "0"

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
        if copyCounts.contains(0) { throw ValidationError("--copies must be at least 1 each, got \(copyCounts)") }
        if !dataset.isPhotos && size != nil {
            throw ValidationError("--size applies to --dataset folder and shards (photographs)")
        }
        if dataset.isPhotos && dataDir == nil { throw ValidationError("--data-dir is needed with --dataset \(dataset.rawValue)") }
        if let bad = sizes.first(where: { !(8 ... 1024).contains($0) }) {
            throw ValidationError("--size must be 8 to 1024 pixels each, got \(bad)")
        }
        if maxImagePixels < 1 { throw ValidationError("--max-image-pixels must be at least 1, got \(maxImagePixels)") }
        do { _ = try ByteSize.parse(cacheDecoded) } catch { throw ValidationError("--cache-decoded: \(error)") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
    }

    func run() throws {
        let transforms = try transforms()
        let cacheBytes = try ByteSize.parse(cacheDecoded)
        try runJob { world in
            var table = AugmentTable()
            for side in dataset.isPhotos ? sizes.map(Optional.some) : [nil] {
                let benchmark = AugmentBenchmark(.init(
                    dataset: dataset, directory: dataDir, transforms: transforms, batchSize: batchSize, steps: steps,
                    seed: seed, rank: world.rank, ranks: world.size, size: side, maxPixels: maxImagePixels,
                    cacheBytes: cacheBytes))
                for m in copyCounts {
                    let result = try world.collectively { try benchmark.measure(copies: m) }
                    guard world.isRoot else { continue }
                    if json { print(result.jsonLine()) } else { table.add(result) }
                    fflush(nil)
                }
            }
            if world.isRoot && !json { print(table.render()) }
        }
    }

    private var copyCounts: [Int] { copies ?? (dataset.isPhotos ? [1, 2, 4, 8] : [1, 4, 16]) }
    private var sizes: [Int] { size ?? [64, 128, 224] }

    private func transforms() throws -> [Transform] {
        do {
            let list = try Transform.parseList(augment ?? (dataset.isPhotos ? "rrc,flip" : "crop,flip,cutout"))
            if dataset.isPhotos {
                _ = try AugmentationPolicy(list, shape: ImageShape(channels: 3, height: 8, width: 8), photographs: true)
            }
            return list
        } catch {
            throw ValidationError("--augment: \(error)")
        }
    }

    static func datasetKind(_ name: String) throws -> DatasetKind {
        guard let kind = DatasetKind(rawValue: name.lowercased()) else {
            throw ValidationError("unknown dataset '\(name)' (known: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return kind
    }
}

import Augmentation
import Datasets

/// One rank's data: its shard of the training and test sets, its epoch order and its augmenter.
/// A process hosts one of these per rank it plays: one under `mpirun`, K with `--simulate-ranks K`.
///
/// Photographs (`--dataset folder`, `shards`) are read and decoded step by step: `load(step:)`
/// decodes the step's samples once, before the step makes their M copies; it throws the first
/// bad file's error, which the caller agrees on with the other ranks. Their validation images
/// are decoded once, here, into memory (`ImageShard.decodingValidation`).
public final class RankData {
    public let rank: Int
    /// Ranks of the data layout.
    public let ranks: Int
    /// What the images are: geometry, classes, sizes of the splits.
    public let descriptor: DatasetDescriptor
    /// Samples of the training split (or of the `--train-samples` subset) over all ranks.
    public let trainCount: Int
    public let test: ImageShard
    let augmenter: BatchAugmenter
    /// The test set, normalised, no transforms.
    public let evaluation: BatchAugmenter
    let seed: UInt64
    private(set) var sampler: EpochSampler

    /// `trainSamples`: train on that many records of a seed-determined subset (`TrainingSubset`)
    /// instead of the whole training split.
    public init(rank: Int, ranks: Int, dataset: DatasetKind, directory: String?, transforms: [Transform], batchPerRank: Int,
                seed: UInt64, trainSamples: Int? = nil, counters: IOCounters) throws {
        precondition(!dataset.isPhotos, "photographs: init(rank:ranks:photographs:…)")
        self.rank = rank
        self.ranks = ranks
        self.seed = seed
        let train: ImageShard
        if let trainSamples {
            train = try ImageShard.load(dataset, directory: directory, split: .train, subsetOf: trainSamples, seed: seed,
                                        rank: rank, ranks: ranks, counters: counters)
        } else {
            train = try ImageShard.load(dataset, directory: directory, split: .train, rank: rank, ranks: ranks,
                                        counters: counters)
        }
        descriptor = train.descriptor
        trainCount = train.totalCount
        test = try ImageShard.load(dataset, directory: directory, split: .test, rank: rank, ranks: ranks, counters: counters)
        augmenter = try BatchAugmenter(shard: train, transforms: transforms, seed: seed,
                                       counters: counters)
        evaluation = try BatchAugmenter(shard: test, transforms: [], seed: seed)
        sampler = EpochSampler(plan: try EpochPlan(shard: train, ranks: ranks, rank: rank, batchSize: batchPerRank,
                                                   seed: derivedSeed(seed, purpose: .epochOrder)))
    }

    /// Rank `rank`'s data of a dataset of photographs, decoded with at most `maxPixels` pixels per
    /// image and a cache of decoded training images of `cacheBytes` (0: none).
    public init(rank: Int, ranks: Int, photographs dataset: PhotoDataset, maxPixels: Int, cacheBytes: Int,
                transforms: [Transform], batchPerRank: Int, seed: UInt64, trainSamples: Int? = nil,
                counters: IOCounters) throws {
        self.rank = rank
        self.ranks = ranks
        self.seed = seed
        descriptor = dataset.descriptor
        let (train, validation) = try dataset.shards(rank: rank, ranks: ranks, subset: trainSamples, seed: seed,
                                                     counters: counters)
        trainCount = train.totalCount
        let decoded = DecodedPhotos(photos: train, shorterSide: PhotoGeometry.decodeSide(size: descriptor.height, transforms: transforms),
                                    maxPixels: maxPixels, cacheBudget: cacheBytes, counters: counters)
        augmenter = try BatchAugmenter(photographs: decoded, transforms: transforms, seed: seed, counters: counters)
        test = try ImageShard.decodingValidation(validation, maxPixels: maxPixels, counters: counters)
        evaluation = try BatchAugmenter(shard: test, transforms: [], seed: seed)
        sampler = EpochSampler(plan: try EpochPlan(photos: train, ranks: ranks, rank: rank, batchSize: batchPerRank,
                                                   seed: derivedSeed(seed, purpose: .epochOrder)))
    }

    /// Whether each step's samples are read and decoded by `load(step:)` before the step.
    public var decodesPerStep: Bool { augmenter.photographs != nil }

    /// The decoded photographs of the training shard (nil for records).
    public var photographs: DecodedPhotos? { augmenter.photographs }

    /// Starts `epoch`: its order of this rank's shard.
    public func begin(epoch: Int) { sampler.begin(epoch: epoch) }

    /// Reads and decodes the samples of `step` of the current epoch for `copies` copies each
    /// (photographs; nothing to do for records). Throws the first bad file's `DatasetError`.
    public func load(step: Int, copies: Int) throws {
        guard let epoch = sampler.epoch, decodesPerStep else { return }
        try augmenter.prepare(samples: sampler.samples(step: step), copies: copies, epoch: epoch)
    }

    /// Steps per epoch for `batchPerRank` samples per step (equal on every rank), rebuilding the
    /// epoch plan when a regime changes the batch size.
    public func prepare(batchPerRank: Int) throws -> Int {
        if batchPerRank != sampler.plan.batchSize {
            sampler = EpochSampler(plan: try sampler.plan.with(batchSize: batchPerRank))
        }
        return sampler.plan.stepsPerEpoch
    }

    /// Steps per epoch for `batchPerRank` samples per step, without changing the current plan.
    public func stepsPerEpoch(batchPerRank: Int) throws -> Int {
        try sampler.plan.with(batchSize: batchPerRank).stepsPerEpoch
    }
}

import Augmentation
import Datasets

/// One rank's data: its shard of the training and test sets, its epoch order and its augmenter.
/// A process hosts one of these per rank it plays: one under `mpirun`, K with `--simulate-ranks K`.
public final class RankData {
    public let rank: Int
    /// Ranks of the data layout.
    public let ranks: Int
    public let train: ImageShard
    public let test: ImageShard
    let augmenter: BatchAugmenter
    /// The test set, normalised, no transforms.
    public let evaluation: BatchAugmenter
    let seed: UInt64
    private(set) var sampler: EpochSampler
    private var samplerBatch: Int

    /// `trainSamples`: train on that many records of a seed-determined subset (`TrainingSubset`)
    /// instead of the whole training split.
    public init(rank: Int, ranks: Int, dataset: DatasetKind, directory: String?, transforms: [Transform], batchPerRank: Int,
                seed: UInt64, trainSamples: Int? = nil, counters: IOCounters) throws {
        self.rank = rank
        self.ranks = ranks
        self.seed = seed
        if let trainSamples {
            train = try ImageShard.load(dataset, directory: directory, split: .train, subsetOf: trainSamples, seed: seed,
                                        rank: rank, ranks: ranks, counters: counters)
        } else {
            train = try ImageShard.load(dataset, directory: directory, split: .train, rank: rank, ranks: ranks,
                                        counters: counters)
        }
        test = try ImageShard.load(dataset, directory: directory, split: .test, rank: rank, ranks: ranks, counters: counters)
        augmenter = try BatchAugmenter(shard: train, transforms: transforms, seed: seed,
                                       counters: counters)
        evaluation = try BatchAugmenter(shard: test, transforms: [], seed: seed)
        samplerBatch = batchPerRank
        sampler = EpochSampler(plan: try EpochPlan(shard: train, ranks: ranks, rank: rank, batchSize: batchPerRank,
                                                   seed: derivedSeed(seed, purpose: .epochOrder)))
    }

    /// Starts `epoch`: its order of this rank's shard.
    public func begin(epoch: Int) { sampler.begin(epoch: epoch) }

    /// Steps per epoch for `batchPerRank` samples per step (equal on every rank), rebuilding the
    /// epoch plan when a regime changes the batch size.
    public func prepare(batchPerRank: Int) throws -> Int {
        if batchPerRank != samplerBatch {
            sampler = EpochSampler(plan: try EpochPlan(shard: train, ranks: ranks, rank: rank, batchSize: batchPerRank,
                                                       seed: derivedSeed(seed, purpose: .epochOrder)))
            samplerBatch = batchPerRank
        }
        return sampler.plan.stepsPerEpoch
    }
}

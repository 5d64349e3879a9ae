import Augmentation
import Datasets
import Engine

/// One rank's data: its shard of the training and test sets, its epoch order and its augmenter.
/// A process hosts one of these per rank it plays: one under `mpirun`, K with `--simulate-ranks K`.
public final class RankData {
    public let rank: Int
    let ranks: Int
    public let train: ImageShard
    public let test: ImageShard
    let augmenter: BatchAugmenter
    /// The test set, normalised, no transforms.
    let evaluation: BatchAugmenter
    let seed: UInt64
    private(set) var sampler: EpochSampler
    private var samplerBatch: Int

    /// Batch-norm running statistics of this rank while another simulated rank uses the network.
    var statistics: [Float] = []

    /// Puts this simulated rank's running statistics into the network.
    func lendStatistics(to network: Network) {
        let target = network.parameters.statistics
        precondition(statistics.count == target.count, "rank \(rank)'s running statistics were not initialised")
        statistics.withUnsafeBufferPointer { target.pointer.update(from: $0.baseAddress!, count: target.count) }
    }

    /// Keeps the running statistics this simulated rank's step left in the network.
    func takeStatistics(from network: Network) {
        statistics = Array(network.parameters.statistics.buffer)
    }

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

extension RankData {
    /// Rank `rank`'s data for a run of `configuration` on `ranks` ranks, after the checks `train`
    /// makes (a `ConfigurationError` names the option): for tools that run steps outside the
    /// trainer, such as the gradient-norm study.
    public convenience init(configuration c: TrainingConfiguration, rank: Int, ranks: Int,
                            counters: IOCounters = IOCounters()) throws {
        let plan = try RunPlan(c, worldSize: ranks)
        try self.init(rank: rank, ranks: ranks, dataset: plan.dataset, directory: c.dataDirectory,
                      transforms: plan.transforms, batchPerRank: plan.batchPerRank(epoch: 0), seed: c.seed,
                      trainSamples: c.trainSamples, counters: counters)
    }

    /// The model of `configuration` for this data's images and classes, initialised from its seed
    /// (as `Trainer` builds it), with its dropout rate.
    public func makeNetwork(_ c: TrainingConfiguration) throws -> Network {
        let d = train.descriptor
        let network = try ModelZoo.make(c.model, input: TensorShape(channels: d.channels, height: d.height, width: d.width),
                                        classes: d.classes, seed: c.seed)
        network.dropoutRate = Float(c.dropout)
        return network
    }
}

import DataParallel
import Datasets
import Engine

extension RankData {
    /// Rank `rank`'s data for a run of `configuration` on `ranks` ranks, after the checks `train`
    /// makes (a `ConfigurationError` names the option): for tools that run steps outside the
    /// trainer, such as the gradient-norm study.
    public convenience init(configuration c: TrainingConfiguration, rank: Int, ranks: Int,
                            counters: IOCounters = IOCounters()) throws {
        try self.init(plan: try RunPlan(c, worldSize: ranks), rank: rank, counters: counters)
    }

    /// Rank `rank`'s data for a checked plan: records loaded whole, or photographs indexed.
    convenience init(plan: RunPlan, rank: Int, counters: IOCounters) throws {
        let c = plan.configuration
        if let photos = plan.photos {
            try self.init(rank: rank, ranks: plan.ranks, photographs: photos, maxPixels: c.maxImagePixels,
                          cacheBytes: plan.cacheBytes, transforms: plan.transforms, batchPerRank: plan.batchPerRank(epoch: 0),
                          seed: c.seed, trainSamples: c.trainSamples, counters: counters)
        } else {
            try self.init(rank: rank, ranks: plan.ranks, dataset: plan.dataset, directory: c.dataDirectory,
                          transforms: plan.transforms, batchPerRank: plan.batchPerRank(epoch: 0), seed: c.seed,
                          trainSamples: c.trainSamples, counters: counters)
        }
    }

    /// The model of `configuration` for this data's images and classes, initialised from its seed
    /// (as `Trainer` builds it), with its dropout rate.
    public func makeNetwork(_ c: TrainingConfiguration) throws -> Network {
        try Self.makeNetwork(c, descriptor: descriptor)
    }

    /// The model of `configuration` for images and classes as `descriptor` describes them.
    static func makeNetwork(_ c: TrainingConfiguration, descriptor d: DatasetDescriptor) throws -> Network {
        let network = try ModelZoo.make(c.model, input: TensorShape(channels: d.channels, height: d.height, width: d.width),
                                        classes: d.classes, seed: c.seed, dropoutSites: c.dropout > 0)
        network.dropoutRate = Float(c.dropout)
        return network
    }
}

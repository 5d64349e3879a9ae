import Augmentation
import Collectives
import Datasets
import Engine
import Formatting
import Schedules

/// A configuration checked against the job it runs in, with everything derived from it. Every
/// rank builds the same plan from the same configuration, so every rank reaches the same verdict
/// on a bad option before any work starts (no rank is left waiting in a collective).
struct RunPlan {
    let configuration: TrainingConfiguration
    /// Ranks of the data layout: the MPI job's size, or `--simulate-ranks`.
    let ranks: Int
    /// Whether this process plays all `ranks` ranks itself.
    let simulated: Bool
    let dataset: DatasetKind
    let descriptor: DatasetDescriptor
    /// Photographs (folder, shards): what their directory holds (nil for the other datasets).
    let photos: PhotoDataset?
    /// The decoded-image cache's size per rank in bytes (photographs; 0: none).
    let cacheBytes: Int
    let transforms: [Transform]
    let schedule: LearningRateSchedule
    let allreduce: AllreduceChoice
    /// The all-reduce's bucket size in bytes (0: one bucket).
    let bucketBytes: Int
    let overlap: Overlap
    /// The signals that stop the run with a checkpoint.
    let stopSignals: [Int32]

    init(_ c: TrainingConfiguration, worldSize: Int) throws {
        configuration = c
        func fail(_ option: String, _ problem: String) -> ConfigurationError {
            ConfigurationError(option: option, problem: problem)
        }
        guard c.simulateRanks >= 1 else { throw fail("simulate-ranks", "must be at least 1, got \(c.simulateRanks)") }
        if c.simulateRanks > 1 && worldSize > 1 {
            throw fail("simulate-ranks", "lays out \(c.simulateRanks) ranks in one process; run it without mpirun (this job has \(worldSize) ranks)")
        }
        simulated = c.simulateRanks > 1
        ranks = simulated ? c.simulateRanks : worldSize

        guard let kind = DatasetKind(rawValue: c.dataset) else {
            throw fail("dataset", "'\(c.dataset)' is not a dataset: choose \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        dataset = kind
        do {
            cacheBytes = try ByteSize.parse(c.cacheDecoded)
        } catch {
            throw fail("cache-decoded", "must be a size such as 512M or 2G, or 0 for no cache, got '\(c.cacheDecoded)'")
        }
        guard c.maxImagePixels >= 1 else { throw fail("max-image-pixels", "must be at least 1, got \(c.maxImagePixels)") }
        if kind.isPhotos {
            let size = c.size ?? PhotoGeometry.defaultSize
            guard (8 ... 1024).contains(size) else { throw fail("size", "must be 8 to 1024 pixels, got \(size)") }
            if let fraction = c.valFraction, !(fraction > 0 && fraction < 1) {
                throw fail("val-fraction", "must be a fraction between 0 and 1, got \(fraction)")
            }
            if c.valFraction != nil && kind != .folder {
                throw fail("val-fraction", "applies to --dataset folder; shards hold the validation split they were packed with")
            }
            guard let directory = c.dataDirectory else {
                throw fail("data-dir", "is needed with --dataset \(kind.rawValue): the folder that holds "
                    + (kind == .folder ? "train/<class>/… and val/<class>/…" : "the shards and shards.json"))
            }
            do {
                photos = try PhotoDataset(kind: kind, directory: directory, size: size, validationFraction: c.valFraction)
            } catch {
                throw fail("data-dir", "\(error)")
            }
            descriptor = photos!.descriptor
        } else {
            for (option, given) in [("size", c.size != nil), ("val-fraction", c.valFraction != nil), ("cache-decoded", cacheBytes > 0)]
            where given {
                throw fail(option, "applies to --dataset folder and shards (photographs), not to \(kind.rawValue)")
            }
            photos = nil
            descriptor = DatasetDescriptor.of(kind)
        }
        do {
            transforms = try c.augment.map { try Transform.parseList($0) } ?? descriptor.defaultTransforms
            if kind.isPhotos {
                _ = try AugmentationPolicy(transforms, shape: ImageShape(descriptor), photographs: true)
            }
        } catch {
            throw fail("augment", "\(error)")
        }
        do {
            _ = try ModelZoo.Architecture(c.model)
        } catch {
            throw fail("model", "\(error)")
        }
        guard let choice = AllreduceChoice(c.allreduce) else {
            throw fail("allreduce", "must be \(AllreduceChoice.names.joined(separator: ", ")), got '\(c.allreduce)'")
        }
        allreduce = choice
        do {
            bucketBytes = try ByteSize.parse(c.bucketSize)
        } catch {
            throw fail("bucket-size", "must be a size such as 256K or 1M, or 0 for one bucket, got '\(c.bucketSize)'")
        }
        guard let overlap = Overlap(rawValue: c.overlap) else {
            throw fail("overlap", "must be \(Overlap.names.joined(separator: ", ")), got '\(c.overlap)'")
        }
        self.overlap = overlap
        guard c.collectiveTimeout >= 0 && c.collectiveTimeout.isFinite else {
            throw fail("collective-timeout", "must be a number of seconds (0: no bound), got \(c.collectiveTimeout)")
        }
        switch StopSignals.parse(c.stopSignals) {
        case .success(let signals): stopSignals = signals
        case .failure(let error):
            throw fail("stop-signals", "must be signal names such as TERM,USR1 (of \(StopSignals.known.keys.sorted().joined(separator: ", "))) "
                + "or none; '\(error.name)' is not one")
        }

        if let output = c.output, output.allSatisfy(\.isWhitespace) {
            throw fail("output", "must name a directory, got '\(output)' (an empty name would write into the current directory)")
        }
        guard c.epochs >= 1 else { throw fail("epochs", "must be at least 1, got \(c.epochs)") }
        guard c.batchSize >= 1 else { throw fail("batch-size", "must be at least 1, got \(c.batchSize)") }
        guard c.copies >= 1 else { throw fail("copies", "must be at least 1 (the number of augmented copies M), got \(c.copies)") }
        guard c.learningRate >= 0 else { throw fail("lr", "must not be negative, got \(c.learningRate)") }
        guard c.momentum >= 0 && c.momentum < 1 else { throw fail("momentum", "must be in [0, 1), got \(c.momentum)") }
        guard c.weightDecay >= 0 else { throw fail("weight-decay", "must not be negative, got \(c.weightDecay)") }
        guard c.dropout >= 0 && c.dropout < 1 else { throw fail("dropout", "must be in [0, 1), got \(c.dropout)") }
        if let clip = c.gradientClip, !(clip > 0) { throw fail("grad-clip", "must be positive, got \(clip)") }
        guard c.warmupEpochs >= 0 else { throw fail("warmup-epochs", "must not be negative, got \(c.warmupEpochs)") }
        guard c.regimeAdaptation >= 1 else { throw fail("regime-adaptation", "must be at least 1, got \(c.regimeAdaptation)") }
        guard c.checkpointEvery >= 0 else { throw fail("checkpoint-every", "must not be negative (0 = only at the end)") }
        guard c.evalEvery >= 0 else { throw fail("eval-every", "must not be negative (0 = only at the end)") }
        guard c.evalEverySteps >= 0 else { throw fail("eval-every-steps", "must not be negative (0 = only at epoch ends)") }
        guard c.logEvery >= 1 else { throw fail("log-every", "must be at least 1, got \(c.logEvery)") }
        if let steps = c.maxSteps, steps < 1 { throw fail("max-steps", "must be at least 1, got \(steps)") }
        if let base = c.baseBatchSize, base < 1 { throw fail("base-batch-size", "must be at least 1, got \(base)") }
        if let samples = c.trainSamples {
            guard samples >= ranks else {
                throw fail("train-samples", "must be at least the number of ranks (\(ranks)), got \(samples)")
            }
            if kind == .shards { throw fail("train-samples", "applies to folders; shards are read whole") }
            guard samples <= descriptor.trainCount else {
                throw fail("train-samples", "\(samples) is more than the \(descriptor.trainCount) training samples of \(dataset.rawValue)")
            }
        }
        guard let scaling = LearningRateScaling(rawValue: c.learningRateScaling) else {
            throw fail("lr-scaling", "must be none, linear or sqrt, got '\(c.learningRateScaling)'")
        }
        let regime: Regime
        do {
            regime = try Regime(parsing: c.regime)
        } catch {
            throw fail("regime", "\(error)")
        }
        // M·B, which the schedule refuses when it overflows (named --copies); not trapped here first.
        let product = c.batchSize.multipliedReportingOverflow(by: c.copies)
        let firstEffectiveBatch = product.overflow ? Int.max : product.partialValue
        let base = EpochSettings(learningRate: c.learningRate, momentum: c.momentum, weightDecay: c.weightDecay,
                                 copies: c.copies, batchSize: c.batchSize)
        do {
            schedule = try LearningRateSchedule(base: base, regime: regime, epochs: c.epochs, scaling: scaling,
                                                baseBatchSize: c.baseBatchSize ?? firstEffectiveBatch,
                                                warmup: Warmup(epochs: c.warmupEpochs),
                                                adaptationFactor: c.regimeAdaptation)
        } catch {
            throw fail(error.option, error.description)
        }

        guard c.warmupEpochs <= Double(schedule.epochs) else {
            throw fail("warmup-epochs", "\(c.warmupEpochs) is longer than the run's \(schedule.epochs) epochs")
        }

        let smallest: Int
        do {
            smallest = try photos?.smallestRankShare(ranks: ranks, trainSamples: c.trainSamples)
                ?? (c.trainSamples ?? descriptor.trainCount) / ranks
        } catch {
            throw fail("data-dir", "\(error)")
        }
        // Every batch shape the run will see (the regime may change B and M) must split evenly.
        for epoch in schedule.changeEpochs + [0] where epoch < schedule.epochs {
            let s = schedule.settings(epoch: epoch)
            let when = epoch == 0 ? "" : " (from epoch \(epoch), set by --regime)"
            guard s.batchSize % ranks == 0 else {
                throw fail("batch-size", "\(s.batchSize)\(when) is not divisible by the \(ranks) ranks")
            }
            let perRank = s.copies * s.batchSize / ranks
            if let ghost = c.ghostBatchSize {
                guard ghost >= 1, perRank % ghost == 0 else {
                    throw fail("ghost-batch-size", "\(ghost) does not divide the \(perRank) images each rank computes per step"
                               + "\(when) (copies \(s.copies) × batch-size \(s.batchSize) / \(ranks) ranks)")
                }
            }
            guard s.batchSize / ranks <= smallest else {
                throw fail("batch-size", "\(s.batchSize)\(when) gives \(s.batchSize / ranks) samples per rank and step, "
                           + "more than a rank's shard of \(smallest) \(dataset.rawValue) training samples"
                           + (c.trainSamples != nil ? " (--train-samples \(c.trainSamples!))" : ""))
            }
        }
    }

    var epochs: Int { schedule.epochs }

    func settings(epoch: Int) -> EpochSettings { schedule.settings(epoch: epoch) }

    /// Distinct samples per rank and step.
    func batchPerRank(epoch: Int) -> Int { settings(epoch: epoch).batchSize / ranks }

    /// Images per rank and step (M copies of each sample).
    func imagesPerRank(epoch: Int) -> Int { settings(epoch: epoch).copies * batchPerRank(epoch: epoch) }

    /// Images per batch-norm group: the option, or the rank's whole batch (per-rank batch norm).
    func ghostBatchSize(epoch: Int) -> Int { configuration.ghostBatchSize ?? imagesPerRank(epoch: epoch) }
}

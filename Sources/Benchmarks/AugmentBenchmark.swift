import Augmentation
import Datasets
import Formatting
import JSON

/// `bench augment`: augmented images per second on one core, and bytes read from disk per epoch,
/// for each number of copies M.
///
/// For each M the whole pipeline of one rank runs from scratch: fresh I/O counters, the shard is
/// loaded (`ImageShard.load`, counting every byte read), then one epoch — the sampler's order and
/// `stepsPerEpoch` calls of `BatchAugmenter.fill` for b samples × M copies (or the first `steps`
/// of them). `bytes_read_per_epoch` is everything read from disk to make that epoch's batches:
/// the load, plus what the steps read (nothing: the augmenter works from memory, which is why the
/// figure does not grow with M). Throughput is the images written divided by the seconds spent in
/// the sampler and `fill`, on the calling thread only.
public struct AugmentBenchmark {
    public struct Configuration: Sendable {
        public var dataset: DatasetKind
        public var directory: String?
        public var synthetic: SyntheticSpec
        public var transforms: [Transform]
        /// Samples per step on this rank (b).
        public var batchSize: Int
        /// At most this many steps per measurement (nil: the whole epoch).
        public var steps: Int?
        public var seed: UInt64
        public var rank: Int
        public var ranks: Int

        public init(dataset: DatasetKind, directory: String? = nil, synthetic: SyntheticSpec = SyntheticSpec(),
                    transforms: [Transform], batchSize: Int = 128, steps: Int? = nil, seed: UInt64 = 0,
                    rank: Int = 0, ranks: Int = 1) {
            self.dataset = dataset
            self.directory = directory
            self.synthetic = synthetic
            self.transforms = transforms
            self.batchSize = batchSize
            self.steps = steps
            self.seed = seed
            self.rank = rank
            self.ranks = ranks
        }
    }

    public struct Result: Sendable {
        public let dataset: DatasetKind
        public let transforms: [Transform]
        public let copies: Int
        public let batchSize: Int
        public let rank: Int
        public let ranks: Int
        /// Records in this rank's shard.
        public let shardRecords: Int
        public let steps: Int
        public let stepsPerEpoch: Int
        /// Augmented images written (steps · b · M).
        public let images: Int
        /// Seconds in the sampler and the augmenter.
        public let seconds: Double
        /// Bytes read from disk by the load.
        public let bytesReadAtLoad: Int
        /// Bytes read from disk while the steps ran.
        public let bytesReadBySteps: Int
        public let loadSeconds: Double

        public var imagesPerSecond: Double { seconds > 0 ? Double(images) / seconds : 0 }
        public var bytesReadPerEpoch: Int { bytesReadAtLoad + bytesReadBySteps }
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) { self.configuration = configuration }

    /// Loads the shard and runs one epoch (or `steps` steps) with `copies` copies per sample.
    /// Throws the loader's `DatasetError`, or the plan's if the batch does not fit the shard.
    public func measure(copies: Int) throws -> Result {
        precondition(copies >= 1)
        let c = configuration
        let counters = IOCounters()
        let shard = try ImageShard.load(c.dataset, directory: c.directory, split: .train, rank: c.rank, ranks: c.ranks,
                                        synthetic: c.synthetic, counters: counters)
        let bytesAtLoad = counters.bytesRead
        let loadSeconds = counters.decodeSeconds
        let plan = try EpochPlan(shard: shard, ranks: c.ranks, rank: c.rank, batchSize: c.batchSize, seed: c.seed)
        let sampler = EpochSampler(plan: plan)
        let augmenter = try BatchAugmenter(shard: shard, transforms: c.transforms, seed: c.seed, counters: counters)
        let steps = min(plan.stepsPerEpoch, c.steps ?? plan.stepsPerEpoch)
        let batchImages = copies * c.batchSize
        let images = UnsafeMutablePointer<Float>.allocate(capacity: batchImages * augmenter.floatsPerImage)
        let labels = UnsafeMutablePointer<Int32>.allocate(capacity: batchImages)
        defer {
            images.deallocate()
            labels.deallocate()
        }
        images.initialize(repeating: 0, count: batchImages * augmenter.floatsPerImage)   // fault the pages in

        let clock = ContinuousClock()
        let start = clock.now
        sampler.begin(epoch: 0)
        for step in 0 ..< steps {
            augmenter.fill(images: images, labels: labels, samples: sampler.samples(step: step), copies: copies, epoch: 0)
        }
        let elapsed = clock.now - start
        return Result(dataset: c.dataset, transforms: augmenter.transforms, copies: copies, batchSize: c.batchSize,
                      rank: c.rank, ranks: c.ranks, shardRecords: shard.count, steps: steps,
                      stepsPerEpoch: plan.stepsPerEpoch, images: steps * batchImages,
                      seconds: elapsed.seconds,
                      bytesReadAtLoad: bytesAtLoad, bytesReadBySteps: counters.bytesRead - bytesAtLoad,
                      loadSeconds: loadSeconds)
    }
}

extension AugmentBenchmark.Result {
    public func jsonLine() -> String {
        JSONLine()
            .add("op", "augment").add("dataset", dataset.rawValue).add("augment", Transform.listDescription(transforms))
            .add("copies", copies).add("batch_size", batchSize).add("rank", rank).add("ranks", ranks)
            .add("shard_records", shardRecords).add("steps", steps).add("steps_per_epoch", stepsPerEpoch)
            .add("images", images).add("seconds", seconds).add("images_per_second", imagesPerSecond)
            .add("bytes_read_per_epoch", bytesReadPerEpoch).add("bytes_read_at_load", bytesReadAtLoad)
            .add("bytes_read_by_steps", bytesReadBySteps).add("load_seconds", loadSeconds)
            .render()
    }
}

/// The readable table of `bench augment`: one row per M.
public struct AugmentTable {
    private var results: [AugmentBenchmark.Result] = []

    public init() {}

    public mutating func add(_ result: AugmentBenchmark.Result) { results.append(result) }

    public func render() -> String {
        guard let first = results.first else { return "" }
        var table = TextTable(header: ["M", "images", "steps", "images/s", "us/image", "bytes read/epoch", "read by steps"])
        for r in results {
            table.append(["\(r.copies)", "\(r.images)", "\(r.steps)/\(r.stepsPerEpoch)", fixed(r.imagesPerSecond, 0),
                          fixed(r.images > 0 ? r.seconds / Double(r.images) * 1e6 : 0, 2),
                          "\(r.bytesReadPerEpoch) (\(ByteSize.format(r.bytesReadPerEpoch)))", "\(r.bytesReadBySteps)"])
        }
        let note = "augment \(first.dataset.rawValue), rank \(first.rank) of \(first.ranks) (\(first.shardRecords) records), "
            + "b = \(first.batchSize), transforms \(Transform.listDescription(first.transforms)), one core; "
            + "bytes read/epoch = load + steps"
        return note + "\n" + table.render()
    }
}

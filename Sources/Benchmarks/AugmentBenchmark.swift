#if canImport(Glibc)
import Glibc
#endif
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
///
/// Photographs (`folder`, `shards`; `size` set): the load indexes the rank's files; each step then
/// reads and decodes its b samples once (`DecodedPhotos.load`, timed apart: the decode share) and
/// writes their M copies at `size`×`size`. `steps` may run past an epoch (into the next ones), as
/// a small folder needs for a stable figure. Images per CPU second use the thread's CPU time, which
/// a process stopped by a side-by-side comparison does not accumulate.
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
        /// Photographs: the side of the images made (nil for records).
        public var size: Int?
        public var maxPixels: Int
        /// Photographs: the decoded-image cache's budget (0: none).
        public var cacheBytes: Int

        public init(dataset: DatasetKind, directory: String? = nil, synthetic: SyntheticSpec = SyntheticSpec(),
                    transforms: [Transform], batchSize: Int = 128, steps: Int? = nil, seed: UInt64 = 0,
                    rank: Int = 0, ranks: Int = 1, size: Int? = nil, maxPixels: Int = ImageDecoder.defaultMaxPixels,
                    cacheBytes: Int = 0) {
            self.size = size
            self.maxPixels = maxPixels
            self.cacheBytes = cacheBytes
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
        /// Photographs: their side, and the seconds of the steps spent reading and decoding.
        public let size: Int?
        public let decodeSeconds: Double
        /// CPU seconds of the calling thread over the steps.
        public let cpuSeconds: Double

        public var imagesPerSecond: Double { seconds > 0 ? Double(images) / seconds : 0 }
        public var imagesPerCPUSecond: Double { cpuSeconds > 0 ? Double(images) / cpuSeconds : 0 }
        /// The part of the steps' time spent reading and decoding.
        public var decodeShare: Double { seconds > 0 ? decodeSeconds / seconds : 0 }
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
        let augmenter: BatchAugmenter
        let plan: EpochPlan
        let shardRecords: Int
        if c.dataset.isPhotos {
            let dataset = try PhotoDataset(kind: c.dataset, directory: c.directory ?? ".", size: c.size ?? PhotoGeometry.defaultSize)
            let photos = try dataset.shards(rank: c.rank, ranks: c.ranks, counters: counters).train
            let decoded = DecodedPhotos(photos: photos, shorterSide: PhotoGeometry.decodeSide(size: c.size ?? PhotoGeometry.defaultSize, transforms: c.transforms),
                                        maxPixels: c.maxPixels, cacheBudget: c.cacheBytes, counters: counters)
            augmenter = try BatchAugmenter(photographs: decoded, transforms: c.transforms, seed: c.seed, counters: counters)
            plan = try EpochPlan(photos: photos, ranks: c.ranks, rank: c.rank, batchSize: c.batchSize, seed: c.seed)
            shardRecords = photos.count
        } else {
            let shard = try ImageShard.load(c.dataset, directory: c.directory, split: .train, rank: c.rank, ranks: c.ranks,
                                            synthetic: c.synthetic, counters: counters)
            augmenter = try BatchAugmenter(shard: shard, transforms: c.transforms, seed: c.seed, counters: counters)
            plan = try EpochPlan(shard: shard, ranks: c.ranks, rank: c.rank, batchSize: c.batchSize, seed: c.seed)
            shardRecords = shard.count
        }
        let bytesAtLoad = counters.bytesRead
        let loadSeconds = counters.decodeSeconds
        let sampler = EpochSampler(plan: plan)
        let steps = c.steps ?? plan.stepsPerEpoch
        let batchImages = copies * c.batchSize
        let images = UnsafeMutablePointer<Float>.allocate(capacity: batchImages * augmenter.floatsPerImage)
        let labels = UnsafeMutablePointer<Int32>.allocate(capacity: batchImages)
        defer {
            images.deallocate()
            labels.deallocate()
        }
        images.initialize(repeating: 0, count: batchImages * augmenter.floatsPerImage)   // fault the pages in

        let clock = ContinuousClock()
        var decoding = Duration.zero
        let cpuStart = threadCPUSeconds()
        let start = clock.now
        for step in 0 ..< steps {
            if step % plan.stepsPerEpoch == 0 { sampler.begin(epoch: step / plan.stepsPerEpoch) }
            let samples = sampler.samples(step: step % plan.stepsPerEpoch)
            if augmenter.photographs != nil {
                let decodeStart = clock.now
                try augmenter.prepare(samples: samples, copies: copies, epoch: step / plan.stepsPerEpoch)
                decoding += clock.now - decodeStart
            }
            augmenter.fill(images: images, labels: labels, samples: samples, copies: copies, epoch: step / plan.stepsPerEpoch)
        }
        let elapsed = clock.now - start
        let cpu = threadCPUSeconds() - cpuStart
        return Result(dataset: c.dataset, transforms: augmenter.transforms, copies: copies, batchSize: c.batchSize,
                      rank: c.rank, ranks: c.ranks, shardRecords: shardRecords, steps: steps,
                      stepsPerEpoch: plan.stepsPerEpoch, images: steps * batchImages,
                      seconds: elapsed.seconds,
                      bytesReadAtLoad: bytesAtLoad, bytesReadBySteps: counters.bytesRead - bytesAtLoad,
                      loadSeconds: loadSeconds, size: c.dataset.isPhotos ? (c.size ?? PhotoGeometry.defaultSize) : nil,
                      decodeSeconds: decoding.seconds, cpuSeconds: cpu)
    }
}

/// CPU seconds the calling thread has used.
func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
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
            .add("size", size.map { JSONValue.integer(Int64($0)) } ?? .null).add("decode_seconds", decodeSeconds)
            .add("decode_share", decodeShare).add("cpu_seconds", cpuSeconds)
            .add("images_per_cpu_second", imagesPerCPUSecond)
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
        if first.size != nil { return renderPhotographs() }
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

    /// Photographs: a row per (S, M), with the decode share and the speed-up over M = 1 at that S.
    private func renderPhotographs() -> String {
        let first = results[0]
        var table = TextTable(header: ["S", "M", "images", "images/s", "img/CPU s", "vs M=1", "decode share", "us/image",
                                       "read by steps"])
        for r in results {
            let base = results.first { $0.size == r.size && $0.copies == 1 }
            table.append(["\(r.size ?? 0)", "\(r.copies)", "\(r.images)", fixed(r.imagesPerSecond, 0), fixed(r.imagesPerCPUSecond, 0),
                          base.map { fixed(r.imagesPerSecond / max($0.imagesPerSecond, 1e-9), 2) + "x" } ?? "-",
                          percent(r.decodeShare), fixed(r.images > 0 ? r.seconds / Double(r.images) * 1e6 : 0, 1),
                          ByteSize.format(r.bytesReadBySteps)])
        }
        let note = "augment \(first.dataset.rawValue) photographs, rank \(first.rank) of \(first.ranks) (\(first.shardRecords) "
            + "samples), b = \(first.batchSize), \(first.steps) steps, transforms \(Transform.listDescription(first.transforms)), "
            + "one core; decode share = reading + decoding / all"
        return note + "\n" + table.render()
    }
}

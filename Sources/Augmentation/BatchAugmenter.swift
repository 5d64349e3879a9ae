import Datasets
import Formatting
import Randomness

/// Makes the M·b batch of a step from the rank's b sample indices: M copies of each sample, each
/// under its own random transform, normalised, written straight into the caller's Float buffer.
///
/// **Layout.** Copy-major: copy 0 of all b samples, then copy 1 of all b samples, …; image k of
/// copy m is at `(m·b + k)·C·H·W`, its label at `m·b + k`. A ghost batch of b images is then one
/// copy of the step's samples.
///
/// **Randomness.** Copy m of the sample with *global* index g (its index in the whole split) in
/// epoch e draws from `CounterRNG(seed: seed, stream: (e, g, m))`. A batch is thus a pure function
/// of (seed, epoch, samples, M): reproducible, independent of threads and of the order of work,
/// rebuilt exactly after a resume — and the same whether the shards live in K processes or in one
/// process simulating K ranks (the global index does not depend on the layout).
///
/// **Cost.** Built once per run; `fill` allocates nothing. The source bytes of each output pixel
/// are read once: crop/flip (or rrc/flip) and normalisation are one pass, cutout zeroes squares
/// afterwards. Nothing is read from disk: the shard is in memory, so M does not change I/O.
///
/// **Photographs.** Over `DecodedPhotos` (`--dataset folder`, `shards`) the step's b samples are
/// decoded once, by `DecodedPhotos.load` before `fill`; each of their M copies then draws its
/// window on the decoded photograph (`AugmentationPolicy.drawPhotoGeometry`) and is resized to
/// the S×S of `--size` by the same kernel, from the same draws: a photograph whose decoded pixels
/// equal a record's gives that record's copies, bit for bit.
public final class BatchAugmenter {
    /// Where the samples' pixels are.
    public enum Source {
        /// Fixed-size records in memory.
        case records(ImageShard)
        /// Photographs, decoded step by step.
        case photographs(DecodedPhotos)
    }

    public let source: Source
    public let policy: AugmentationPolicy
    public let seed: UInt64
    public let normalisation: Normalisation
    private let counters: IOCounters?
    private let scratch: ResizeScratch

    /// Throws a `TransformListError` if `transforms` cannot be applied to the shard's images.
    /// `normalisation`: instead of the dataset's.
    public init(shard: ImageShard, transforms: [Transform], seed: UInt64, counters: IOCounters? = nil,
                normalisation: Normalisation? = nil) throws {
        source = .records(shard)
        let shape = ImageShape(shard.descriptor)
        policy = try AugmentationPolicy(transforms, shape: shape)
        self.seed = seed
        self.normalisation = normalisation ?? Normalisation(shard.descriptor)
        self.counters = counters
        scratch = ResizeScratch(height: shape.height, width: shape.width)
    }

    /// Copies of decoded photographs, resized to their descriptor's size (`--size`).
    public init(photographs: DecodedPhotos, transforms: [Transform], seed: UInt64, counters: IOCounters? = nil,
                normalisation: Normalisation? = nil) throws {
        source = .photographs(photographs)
        let descriptor = photographs.photos.descriptor
        let shape = ImageShape(descriptor)
        policy = try AugmentationPolicy(transforms, shape: shape, photographs: true)
        self.seed = seed
        self.normalisation = normalisation ?? Normalisation(descriptor)
        self.counters = counters
        scratch = ResizeScratch(height: shape.height, width: shape.width)
    }

    /// The photographs decoded for the steps (nil for records).
    public var photographs: DecodedPhotos? {
        if case .photographs(let photos) = source { photos } else { nil }
    }

    /// Photographs: reads and decodes the step's `samples` once for their `copies` copies in
    /// `epoch`, each down to the lowest row its copies' windows reach (the windows `fill` then
    /// draws again, from the same streams). Nothing to do for records. Throws the first bad
    /// file's `DatasetError`.
    public func prepare(samples: UnsafeBufferPointer<Int>, copies: Int, epoch: Int) throws {
        guard let decoded = photographs else { return }
        try decoded.load(samples) { [self] slot, height, width in
            let sample = decoded.photos.globalIndices[samples[slot]]
            var lowest = 0
            for copy in 0 ..< copies {
                var random = random(epoch: epoch, sample: sample, copy: copy)
                let window = policy.drawPhotoGeometry(height: height, width: width, using: &random).window
                lowest = max(lowest, window.top + window.height)
            }
            return lowest
        }
    }

    public var transforms: [Transform] { policy.transforms }

    /// Floats of one image in the batch (C·H·W).
    public var floatsPerImage: Int { policy.shape.count }

    /// The random stream of copy `copy` of global sample `sample` in `epoch`.
    public func random(epoch: Int, sample: Int, copy: Int) -> CounterRNG {
        CounterRNG(seed: seed, stream: (UInt32(truncatingIfNeeded: epoch), UInt32(truncatingIfNeeded: sample),
                                        UInt32(truncatingIfNeeded: copy)))
    }

    /// Writes the batch of `samples` (local indices into the shard, as `EpochSampler` hands them
    /// out) with `copies` copies each: `images` must hold `copies·samples.count·floatsPerImage`
    /// Floats, `labels` `copies·samples.count` labels.
    public func fill(images: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>,
                     samples: UnsafeBufferPointer<Int>, copies: Int, epoch: Int) {
        precondition(copies >= 1, "copies must be at least 1")
        let clock = ContinuousClock()
        let start = clock.now
        let b = samples.count
        let stride = floatsPerImage
        let shape = policy.shape
        let (holeCount, holeSide) = policy.holes
        for copy in 0 ..< copies {
            for k in 0 ..< b {
                let local = samples[k]
                let slot = copy * b + k
                let output = images + slot * stride
                var random: CounterRNG
                switch source {
                case .records(let shard):
                    labels[slot] = shard.labels[local]
                    let pixels = shard.pixels(of: local).baseAddress!
                    random = self.random(epoch: epoch, sample: shard.globalRange.lowerBound + local, copy: copy)
                    let geometry = policy.drawGeometry(using: &random)
                    if geometry.resized {
                        ImageKernels.resizedCrop(pixels, shape: shape, window: geometry.window, flipped: geometry.flipped,
                                                 normalisation: normalisation, scratch: scratch, into: output)
                    } else {
                        ImageKernels.crop(pixels, shape: shape, top: geometry.window.top, left: geometry.window.left,
                                          flipped: geometry.flipped, normalisation: normalisation, into: output)
                    }
                case .photographs(let decoded):
                    labels[slot] = decoded.photos.labels[local]
                    let image = decoded.image(slot: k, sample: local)
                    random = self.random(epoch: epoch, sample: decoded.photos.globalIndices[local], copy: copy)
                    let geometry = policy.drawPhotoGeometry(height: image.height, width: image.width, using: &random)
                    precondition(geometry.window.top + geometry.window.height <= image.rows,
                                 "sample \(local) was decoded for fewer copies or another epoch: call prepare first")
                    ImageKernels.resizedCrop(SourceImage(image), window: geometry.window, output: shape,
                                             flipped: geometry.flipped, scale: normalisation.scale, bias: normalisation.bias,
                                             scratch: scratch, into: output)
                }
                for _ in 0 ..< holeCount {
                    let centerY = random.below(shape.height), centerX = random.below(shape.width)
                    ImageKernels.cutout(output, shape: shape, centerY: centerY, centerX: centerX, side: holeSide)
                }
            }
        }
        counters?.addAugmentSeconds((clock.now - start).seconds)
    }

    /// `fill` into arrays sized for the batch (resized if needed). Allocates; for tests and tools.
    public func fill(images: inout [Float], labels: inout [Int32], samples: [Int], copies: Int, epoch: Int) {
        let count = copies * samples.count
        if images.count != count * floatsPerImage { images = [Float](repeating: 0, count: count * floatsPerImage) }
        if labels.count != count { labels = [Int32](repeating: 0, count: count) }
        images.withUnsafeMutableBufferPointer { imageBuffer in
            labels.withUnsafeMutableBufferPointer { labelBuffer in
                samples.withUnsafeBufferPointer { sampleBuffer in
                    fill(images: imageBuffer.baseAddress!, labels: labelBuffer.baseAddress!, samples: sampleBuffer,
                         copies: copies, epoch: epoch)
                }
            }
        }
    }
}

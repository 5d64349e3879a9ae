import Randomness

/// The generated dataset: a shape-recognition task that a small CNN learns well above chance in a
/// minute on two cores, where label-preserving crops and flips enlarge a deliberately small
/// training set.
///
/// **Generative process.** Each class c owns a glyph: a 5×5 binary pattern drawn once from
/// (seed, c) — 9 to 16 cells on, touching all four sides of its box, at Hamming distance ≥ 5 from
/// every other class's glyph and from its mirror image (so no two classes can be confused, even
/// after a flip). Record i of a split has label i mod classes (exactly balanced, also within every
/// shard up to one record per class) and is drawn from its own random stream (seed, split, i):
/// - the glyph, mirrored left–right with probability ½, each cell scaled to s×s pixels, s uniform
///   in [⌈s_max/2⌉, s_max] with s_max = ⌊min(H, W)/8⌋ (2–4 px at 32×32: glyphs of 10–20 px), placed
///   uniformly at random with the whole glyph inside the image;
/// - a background colour and a foreground colour per channel, the foreground brighter or darker by
///   a random contrast in [0.3, 0.65] (times a per-channel factor in [0.75, 1.25]), so colour
///   carries no class information;
/// - a random linear brightness gradient (slopes in ±0.15 over the image);
/// - two distractor squares of 1 to s+1 pixels, in the foreground colour or a random one;
/// - independent uniform noise in ±0.1 on every pixel and channel; values clamped to [0, 1] and
///   stored as bytes.
///
/// The class is thus carried only by the shape, wherever it is and whichever way it faces. Mirrors
/// and shifts are label-preserving, so `flip` and `crop` produce new valid samples; with the
/// default 1,000 records per class a network sees each glyph in only a fraction of its ~10⁴
/// (position, size, mirror) poses and can overfit the noise, which augmentation counters.
///
/// Any geometry works (glyphs are clipped in images smaller than 5 pixels); any number of classes
/// (above a few thousand the distance guarantee is dropped to keep set-up fast).
public struct SyntheticSpec: Sendable, Equatable {
    public var classes: Int
    public var channels: Int
    public var height: Int
    public var width: Int
    public var trainCount: Int
    public var testCount: Int
    public var seed: UInt64

    /// The default dataset of a run without options: CIFAR's geometry, 10 classes, 10,000
    /// training and 2,000 test records (an epoch of a small CNN takes seconds on two cores).
    public init(classes: Int = 10, channels: Int = 3, height: Int = 32, width: Int = 32,
                trainCount: Int = 10_000, testCount: Int = 2_000, seed: UInt64 = 1) {
        self.classes = classes
        self.channels = channels
        self.height = height
        self.width = width
        self.trainCount = trainCount
        self.testCount = testCount
        self.seed = seed
    }

    /// Mean and standard deviation of pixel/255, the same for every channel (the process is
    /// symmetric in channels); measured on 10,000 generated 32×32 records (the tests check them).
    static let mean: Float = 0.4987
    static let std: Float = 0.2634

    public var descriptor: DatasetDescriptor {
        DatasetDescriptor(kind: .synthetic, channels: channels, height: height, width: width, classes: classes,
                          mean: [Float](repeating: Self.mean, count: channels),
                          std: [Float](repeating: Self.std, count: channels),
                          defaultAugmentation: "crop=\(max(1, min(height, width) / 8)),flip",
                          trainCount: trainCount, testCount: testCount)
    }

    /// Why a spec cannot be generated, or nil.
    func problem() -> String? {
        if classes < 1 { return "synthetic classes must be at least 1, got \(classes)" }
        if classes > Int(Int32.max) { return "synthetic classes must fit Int32, got \(classes)" }
        if channels < 1 || height < 1 || width < 1 {
            return "synthetic images must have at least 1 channel and 1×1 pixels, got \(channels)×\(height)×\(width)"
        }
        if trainCount < 0 || testCount < 0 || max(trainCount, testCount) > Int(UInt32.max) {
            return "synthetic record counts must be in 0…\(UInt32.max), got \(trainCount) and \(testCount)"
        }
        return nil
    }
}

/// Draws synthetic records. The glyphs are drawn once; each record is then a pure function of
/// (seed, split, index), so a rank generates only its own shard and every rank agrees.
struct SyntheticGenerator {
    static let glyphSide = 5
    let spec: SyntheticSpec
    /// One 25-bit pattern per class, row-major, bit (row·5 + column).
    let glyphs: [UInt32]
    private let recordKey: UInt64

    init(spec: SyntheticSpec) {
        self.spec = spec
        recordKey = derivedSeed(spec.seed, purpose: .syntheticRecords)
        glyphs = Self.drawGlyphs(classes: spec.classes, seed: spec.seed)
    }

    static func mirror(_ glyph: UInt32) -> UInt32 {
        var out: UInt32 = 0
        for row in 0 ..< glyphSide {
            for column in 0 ..< glyphSide where glyph >> UInt32(row * glyphSide + column) & 1 == 1 {
                out |= 1 << UInt32(row * glyphSide + glyphSide - 1 - column)
            }
        }
        return out
    }

    private static func touchesAllSides(_ glyph: UInt32) -> Bool {
        let top: UInt32 = 0b11111, bottom = top << 20
        let left: UInt32 = 0b00001_00001_00001_00001_00001, right = left << 4
        return glyph & top != 0 && glyph & bottom != 0 && glyph & left != 0 && glyph & right != 0
    }

    private static func drawGlyphs(classes: Int, seed: UInt64) -> [UInt32] {
        let key = derivedSeed(seed, purpose: .syntheticClasses)
        var glyphs: [UInt32] = []
        glyphs.reserveCapacity(classes)
        let checkDistance = classes <= 4096
        for c in 0 ..< classes {
            var minimumDistance = 5
            var attempt: UInt32 = 0
            while true {
                var random = CounterRNG(seed: key, stream: (UInt32(truncatingIfNeeded: c), attempt, 0))
                attempt &+= 1
                if attempt % 2000 == 0 && minimumDistance > 1 { minimumDistance -= 1 }
                let glyph = random.next32() & (1 << 25 - 1)
                guard (9 ... 16).contains(glyph.nonzeroBitCount), touchesAllSides(glyph) else { continue }
                let mirrored = mirror(glyph)
                if checkDistance && glyphs.contains(where: {
                    ($0 ^ glyph).nonzeroBitCount < minimumDistance || ($0 ^ mirrored).nonzeroBitCount < minimumDistance
                }) { continue }
                glyphs.append(glyph)
                break
            }
        }
        return glyphs
    }

    /// Writes record `index` of `split` (C×H×W bytes) at `pixels` and returns its label.
    func render(split: Split, index: Int, into pixels: UnsafeMutablePointer<UInt8>) -> Int32 {
        let (channels, height, width) = (spec.channels, spec.height, spec.width)
        let side = Self.glyphSide
        var random = CounterRNG(seed: recordKey, stream: (split.streamWord, UInt32(truncatingIfNeeded: index), 0))
        let label = index % spec.classes
        let glyph = random.next32() & 1 == 1 ? Self.mirror(glyphs[label]) : glyphs[label]

        let largest = max(1, min(height, width) / (side + 3))
        let smallest = (largest + 1) / 2
        let cell = smallest + random.below(largest - smallest + 1)
        let extent = side * cell
        let top = random.below(max(1, height - extent + 1))
        let left = random.below(max(1, width - extent + 1))

        let brighter = random.next32() & 1 == 1
        let contrast = 0.3 + 0.35 * random.uniform()
        var background = [Float](repeating: 0, count: channels)
        var foreground = [Float](repeating: 0, count: channels)
        for c in 0 ..< channels {
            let base = 0.05 + 0.5 * random.uniform()
            let step = contrast * (0.75 + 0.5 * random.uniform())
            background[c] = brighter ? base : 1 - base
            foreground[c] = min(1, max(0, brighter ? background[c] + step : background[c] - step))
        }
        let slopeY = 0.3 * random.uniform() - 0.15, slopeX = 0.3 * random.uniform() - 0.15

        // Two distractor squares, in the foreground colour or a random one.
        var distractors: [(top: Int, left: Int, side: Int, colour: [Float])] = []
        for _ in 0 ..< 2 {
            let size = 1 + random.below(cell + 1)
            let y = random.below(max(1, height - size + 1)), x = random.below(max(1, width - size + 1))
            let colour = random.next32() & 1 == 1 ? foreground : (0 ..< channels).map { _ in random.uniform() }
            distractors.append((y, x, size, colour))
        }

        var noise: UInt32 = 0, noiseLeft = 0
        for c in 0 ..< channels {
            let plane = pixels + c * height * width
            for y in 0 ..< height {
                let glyphRow = y >= top ? (y - top) / cell : side
                let shade = slopeY * (Float(y) / Float(height) - 0.5)
                for x in 0 ..< width {
                    var value = background[c] + shade + slopeX * (Float(x) / Float(width) - 0.5)
                    if glyphRow < side && x >= left {
                        let glyphColumn = (x - left) / cell
                        if glyphColumn < side && glyph >> UInt32(glyphRow * side + glyphColumn) & 1 == 1 {
                            value = foreground[c]
                        }
                    }
                    for d in distractors where y >= d.top && y < d.top + d.side && x >= d.left && x < d.left + d.side {
                        value = d.colour[c]
                    }
                    if noiseLeft == 0 { noise = random.next32(); noiseLeft = 4 }
                    value += (Float(noise & 0xff) / 255 - 0.5) * 0.2
                    noise >>= 8
                    noiseLeft -= 1
                    plane[y * width + x] = UInt8(min(255, max(0, (value * 255).rounded())))
                }
            }
        }
        return Int32(label)
    }

    /// Rank `rank`'s shard of `split`, generating only its own records.
    func shard(split: Split, rank: Int, ranks: Int) throws -> ImageShard {
        let total = split == .train ? spec.trainCount : spec.testCount
        let range = try ownRange(total: total, rank: rank, ranks: ranks, directory: "synthetic")
        let recordBytes = spec.channels * spec.height * spec.width
        let storage = PixelStorage(count: range.count * recordBytes)
        var labels = [Int32](repeating: 0, count: range.count)
        for (local, index) in range.enumerated() {
            labels[local] = render(split: split, index: index, into: storage.base + local * recordBytes)
        }
        return ImageShard(descriptor: spec.descriptor, split: split, globalRange: range, totalCount: total,
                          storage: storage, labels: labels)
    }
}

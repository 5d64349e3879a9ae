import Datasets
import Testing

@Suite("synthetic dataset")
struct SyntheticTests {
    static let small = SyntheticSpec(classes: 7, channels: 2, height: 20, width: 24, trainCount: 300, testCount: 50, seed: 5)

    @Test("records are a function of (seed, split, index): a rank's shard equals its slice of the whole")
    func shards() throws {
        let counters = IOCounters()
        let whole = try ImageShard.load(.synthetic, split: .train, synthetic: Self.small, counters: counters)
        #expect(whole.totalCount == 300 && whole.descriptor.classes == 7 && whole.recordBytes == 2 * 20 * 24)
        #expect(counters.bytesRead == 0)
        for rank in 0 ..< 3 {
            let shard = try ImageShard.load(.synthetic, split: .train, rank: rank, ranks: 3, synthetic: Self.small)
            #expect(shard.globalRange == rank * 100 ..< (rank + 1) * 100)
            #expect(Array(shard.labels) == Array(whole.labels[shard.globalRange]))
            #expect(Array(shard.allPixels) == Array(whole.allPixels[rank * 100 * whole.recordBytes ..< (rank + 1) * 100 * whole.recordBytes]))
        }
        let again = try ImageShard.load(.synthetic, split: .train, synthetic: Self.small)
        #expect(Array(again.allPixels) == Array(whole.allPixels))
        var other = Self.small
        other.seed = 6
        #expect(Array(try ImageShard.load(.synthetic, split: .train, synthetic: other).allPixels) != Array(whole.allPixels))
        let test = try ImageShard.load(.synthetic, split: .test, synthetic: Self.small)
        #expect(test.totalCount == 50)
        #expect(Array(test.pixels(of: 0)) != Array(whole.pixels(of: 0)), "the test split has its own records")
    }

    @Test("labels are balanced; records differ; pixels use the whole range")
    func content() throws {
        let shard = try ImageShard.load(.synthetic, split: .train, synthetic: Self.small)
        var perClass = [Int](repeating: 0, count: 7)
        for label in shard.labels { perClass[Int(label)] += 1 }
        #expect(perClass.max()! - perClass.min()! <= 1)
        let records = Set((0 ..< shard.count).map { Array(shard.pixels(of: $0)) })
        #expect(records.count == shard.count)
        let pixels = shard.allPixels
        #expect(pixels.min()! < 30 && pixels.max()! > 225)
    }

    @Test("the default spec: CIFAR geometry, 10 classes, and its normalisation constants hold within 0.01")
    func defaults() throws {
        let descriptor = DatasetDescriptor.of(.synthetic)
        #expect(descriptor.channels == 3 && descriptor.height == 32 && descriptor.width == 32 && descriptor.classes == 10)
        #expect(descriptor.trainCount == 10_000 && descriptor.testCount == 2_000)
        #expect(descriptor.defaultAugmentation == "crop=4,flip")
        let shard = try ImageShard.load(.synthetic, split: .train, rank: 0, ranks: 5)
        let (mean, std) = channelStatistics(shard)
        for c in 0 ..< 3 {
            #expect(abs(mean[c] - Double(descriptor.mean[c])) < 0.01, "channel \(c) mean \(mean[c])")
            #expect(abs(std[c] - Double(descriptor.std[c])) < 0.01, "channel \(c) std \(std[c])")
        }
    }

    /// The class is carried by the glyph: a nearest-class-mean classifier on raw pixels (which
    /// sees no shapes, only average brightness patterns) must stay near chance, otherwise the task
    /// would be solvable without learning shapes.
    @Test("class means of raw pixels carry almost no information")
    func noTrivialCue() throws {
        let train = try ImageShard.load(.synthetic, split: .train, rank: 0, ranks: 5)
        let test = try ImageShard.load(.synthetic, split: .test)
        let size = train.recordBytes
        var means = [[Double]](repeating: [Double](repeating: 0, count: size), count: 10)
        var counts = [Double](repeating: 0, count: 10)
        for r in 0 ..< train.count {
            let label = Int(train.labels[r])
            counts[label] += 1
            let pixels = train.pixels(of: r)
            for i in 0 ..< size { means[label][i] += Double(pixels[i]) }
        }
        for c in 0 ..< 10 { for i in 0 ..< size { means[c][i] /= counts[c] } }
        var correct = 0
        for r in 0 ..< test.count {
            let pixels = test.pixels(of: r)
            var best = 0, bestDistance = Double.infinity
            for c in 0 ..< 10 {
                var d = 0.0
                for i in 0 ..< size { let e = Double(pixels[i]) - means[c][i]; d += e * e }
                if d < bestDistance { bestDistance = d; best = c }
            }
            if best == Int(test.labels[r]) { correct += 1 }
        }
        #expect(Double(correct) / Double(test.count) < 0.2, "nearest class mean: \(correct) of \(test.count)")
    }

    @Test("invalid specs are errors, any geometry works")
    func specs() throws {
        #expect(throws: DatasetError.self) {
            try ImageShard.load(.synthetic, split: .train, synthetic: SyntheticSpec(classes: 0))
        }
        #expect(throws: DatasetError.self) {
            try ImageShard.load(.synthetic, split: .train, synthetic: SyntheticSpec(height: 0))
        }
        let tiny = try ImageShard.load(.synthetic, split: .train,
                                       synthetic: SyntheticSpec(classes: 200, channels: 1, height: 3, width: 4, trainCount: 400, testCount: 0))
        #expect(tiny.count == 400 && tiny.recordBytes == 12 && tiny.labels.max() == 199)
    }
}

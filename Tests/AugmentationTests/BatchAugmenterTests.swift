import Augmentation
import Datasets
import Foundation
import Randomness
import Testing

@Suite("batch augmenter")
struct BatchAugmenterTests {
    static let spec = SyntheticSpec(classes: 10, channels: 3, height: 32, width: 32, trainCount: 600, testCount: 10, seed: 3)
    static let shard = try! ImageShard.load(.synthetic, split: .train, synthetic: spec)
    static let all: [Transform] = [.crop(padding: 4), .flip, .cutout(holes: 1, side: 16)]

    func batch(_ augmenter: BatchAugmenter, samples: [Int], copies: Int, epoch: Int = 0) -> (images: [Float], labels: [Int32]) {
        var images: [Float] = [], labels: [Int32] = []
        augmenter.fill(images: &images, labels: &labels, samples: samples, copies: copies, epoch: epoch)
        return (images, labels)
    }

    /// Image `slot` of a batch.
    func image(_ images: [Float], _ slot: Int) -> [Float] { Array(images[slot * 3072 ..< (slot + 1) * 3072]) }

    @Test("M = 1 without transforms is the plain normalised copy, labels in order")
    func baseline() throws {
        let augmenter = try BatchAugmenter(shard: Self.shard, transforms: [], seed: 1)
        let samples = [5, 0, 599, 42]
        let (images, labels) = batch(augmenter, samples: samples, copies: 1)
        #expect(labels == samples.map { Self.shard.labels[$0] })
        let descriptor = Self.shard.descriptor
        for (k, sample) in samples.enumerated() {
            let pixels = Self.shard.pixels(of: sample)
            let expected = (0 ..< 3072).map { i -> Float in
                let c = i / 1024
                return (Float(pixels[i]) / 255 - descriptor.mean[c]) / descriptor.std[c]
            }
            let got = image(images, k)
            #expect(zip(got, expected).allSatisfy { abs($0 - $1) < 1e-4 }, "sample \(sample)")
        }
    }

    @Test("copy-major layout: slot m·b + k is copy m of sample k, drawn from the stream (epoch, global index, m)")
    func layout() throws {
        let augmenter = try BatchAugmenter(shard: Self.shard, transforms: [.crop(padding: 4), .flip], seed: 7)
        let samples = [10, 20, 30], copies = 3
        let (images, labels) = batch(augmenter, samples: samples, copies: copies, epoch: 2)
        #expect(images.count == copies * samples.count * 3072)
        #expect(labels == Array(repeating: samples.map { Self.shard.labels[$0] }, count: copies).flatMap { $0 })
        let shape = ImageShape(Self.shard.descriptor)
        for copy in 0 ..< copies {
            for (k, sample) in samples.enumerated() {
                var random = CounterRNG(seed: 7, stream: (2, UInt32(sample), UInt32(copy)))
                let geometry = augmenter.policy.drawGeometry(using: &random)
                var expected = [Float](repeating: 0, count: 3072)
                expected.withUnsafeMutableBufferPointer { out in
                    ImageKernels.crop(Self.shard.pixels(of: sample).baseAddress!, shape: shape, top: geometry.window.top,
                                      left: geometry.window.left, flipped: geometry.flipped,
                                      normalisation: augmenter.normalisation, into: out.baseAddress!)
                }
                let same = image(images, copy * samples.count + k) == expected
                #expect(same, "copy \(copy) of sample \(sample)")
            }
        }
    }

    @Test("the copies of one sample differ; different copy indices draw different transforms")
    func copiesDiffer() throws {
        let augmenter = try BatchAugmenter(shard: Self.shard, transforms: Self.all, seed: 11)
        let (images, _) = batch(augmenter, samples: [123], copies: 8)
        let copies = (0 ..< 8).map { image(images, $0) }
        #expect(Set(copies.map { $0.map(\.bitPattern) }).count == 8, "8 distinct copies")

        var differing = 0
        for sample in 0 ..< 200 {
            var first = augmenter.random(epoch: 0, sample: sample, copy: 0)
            var second = augmenter.random(epoch: 0, sample: sample, copy: 1)
            if augmenter.policy.drawGeometry(using: &first) != augmenter.policy.drawGeometry(using: &second) { differing += 1 }
        }
        // Same window and flip by chance: 1/(81·2); the cutout centre still differs then.
        #expect(differing >= 190, "\(differing) of 200 samples drew different windows for copies 0 and 1")
    }

    @Test("same seed → same batch; another seed or epoch → another batch")
    func reproducible() throws {
        let samples = Array(stride(from: 0, to: 600, by: 37))
        let a = try BatchAugmenter(shard: Self.shard, transforms: Self.all, seed: 5)
        let b = try BatchAugmenter(shard: Self.shard, transforms: Self.all, seed: 5)
        let c = try BatchAugmenter(shard: Self.shard, transforms: Self.all, seed: 6)
        let first = batch(a, samples: samples, copies: 4, epoch: 1)
        let again = batch(a, samples: samples, copies: 4, epoch: 1).images == first.images
        #expect(again, "same augmenter, again")
        let sameSeed = batch(b, samples: samples, copies: 4, epoch: 1).images == first.images
        #expect(sameSeed, "another augmenter, same seed")
        let otherSeed = batch(c, samples: samples, copies: 4, epoch: 1).images != first.images
        #expect(otherSeed, "another seed")
        let otherEpoch = batch(a, samples: samples, copies: 4, epoch: 2).images != first.images
        #expect(otherEpoch, "another epoch")
        // The first copies do not depend on how many copies are made.
        let two = batch(a, samples: samples, copies: 2, epoch: 1).images
        let prefix = two == Array(first.images[0 ..< two.count])
        #expect(prefix, "copies 0 and 1 of a 2-copy batch are those of a 4-copy batch")
    }

    @Test("K ranks' shards give exactly the batches of one process holding the whole split")
    func simulatedRanks() throws {
        let whole = try BatchAugmenter(shard: Self.shard, transforms: Self.all, seed: 9)
        for rank in 0 ..< 3 {
            let shard = try ImageShard.load(.synthetic, split: .train, rank: rank, ranks: 3, synthetic: Self.spec)
            let augmenter = try BatchAugmenter(shard: shard, transforms: Self.all, seed: 9)
            let local = [0, 7, 150, 199]
            let global = local.map { $0 + shard.globalRange.lowerBound }
            let mine = batch(augmenter, samples: local, copies: 3, epoch: 4)
            let reference = batch(whole, samples: global, copies: 3, epoch: 4)
            let same = mine.images == reference.images
            #expect(same, "rank \(rank)")
            #expect(mine.labels == reference.labels)
        }
    }

    @Test("random-resized crop and flip produce finite values in the normalised range")
    func resizedCrop() throws {
        let augmenter = try BatchAugmenter(shard: Self.shard, transforms: [.defaultResizedCrop, .flip], seed: 2)
        let (images, _) = batch(augmenter, samples: Array(0 ..< 32), copies: 2)
        let descriptor = Self.shard.descriptor
        let low = -descriptor.mean[0] / descriptor.std[0], high = (1 - descriptor.mean[0]) / descriptor.std[0]
        #expect(images.allSatisfy { $0.isFinite && $0 >= low - 1e-4 && $0 <= high + 1e-4 })
        #expect(Set((0 ..< 64).map { image(images, $0).map(\.bitPattern) }).count == 64)
    }

    @Test("no extra I/O: an epoch reads the same bytes for M = 1 and M = 8")
    func noExtraIO() throws {
        let directory = NSTemporaryDirectory() + "batchaug-augment-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in (1 ... 5).map({ "data_batch_\($0).bin" }) + ["test_batch.bin"] {
            let records = (0 ..< 40).flatMap { r in [UInt8(r % 10)] + (0 ..< 3072).map { UInt8(truncatingIfNeeded: $0 &* r) } }
            try Data(records).write(to: URL(fileURLWithPath: directory + "/" + name))
        }
        var bytesPerEpoch: [Int] = []
        for copies in [1, 8] {
            let counters = IOCounters()
            let shard = try ImageShard.load(.cifar10, directory: directory, split: .train, rank: 1, ranks: 2, counters: counters)
            let plan = try EpochPlan(shard: shard, ranks: 2, rank: 1, batchSize: 16, seed: 0)
            let sampler = EpochSampler(plan: plan)
            let augmenter = try BatchAugmenter(shard: shard, transforms: Self.all, seed: 0, counters: counters)
            let afterLoad = counters.bytesRead
            var images = [Float](repeating: 0, count: copies * 16 * 3072), labels = [Int32](repeating: 0, count: copies * 16)
            sampler.begin(epoch: 0)
            for step in 0 ..< plan.stepsPerEpoch {
                images.withUnsafeMutableBufferPointer { i in
                    labels.withUnsafeMutableBufferPointer { l in
                        augmenter.fill(images: i.baseAddress!, labels: l.baseAddress!, samples: sampler.samples(step: step),
                                       copies: copies, epoch: 0)
                    }
                }
            }
            #expect(counters.bytesRead == afterLoad, "the steps read nothing")
            #expect(counters.augmentSeconds > 0)
            bytesPerEpoch.append(counters.bytesRead)
        }
        #expect(bytesPerEpoch[0] == 100 * 3073, "rank 1 of 2 reads its 100 records")
        #expect(bytesPerEpoch[0] == bytesPerEpoch[1])
    }
}

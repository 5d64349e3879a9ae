import Augmentation
import Datasets
import Engine
import Foundation
import JSON
import Testing
import TestSupport
import Training

/// What the design says about the three ways a photograph can arrive, tested: the batch of a step
/// is a pure function of the decoded pixels, the samples' global indices, (seed, epoch, copy) and
/// the normalisation. So a folder of 32×32 PNGs written from CIFAR records, in the order the
/// binary file holds them, gives the binary loader's batches bit for bit (given the same
/// normalisation: the photographs' default is ImageNet's, CIFAR's its own), hence the same
/// gradient and the same update. (A folder and its pack train to the same bits under mpirun:
/// `PhotographCLITests`.)
@Suite("photographs and records: the same pixels give the same step")
struct PhotoEquivalenceTests {
    @Test("CIFAR records as PNG photographs in class folders: the same batches, gradients and update as from the binary file")
    func cifarAsPhotographs() throws {
        // Class-major records (the order a folder lists), from the CIFAR-10 copy when it is here.
        var pixels: [[UInt8]] = [], labels: [Int32] = []
        let source: ImageShard = if let cifar = sharedCIFAR10Directory {
            try ImageShard.load(.cifar10, directory: cifar, split: .test)
        } else {
            try ImageShard.load(.synthetic, split: .train, synthetic: SyntheticSpec(trainCount: 300))
        }
        for label in 0 ..< 3 {
            for index in (0 ..< source.count).filter({ source.labels[$0] == Int32(label) }).prefix(8) {
                pixels.append(Array(source.pixels(of: index)))
                labels.append(Int32(label))
            }
        }
        let root = NSTemporaryDirectory() + "batchaug-cifar-png-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (index, record) in pixels.enumerated() {
            var interleaved: [Int] = []
            for p in 0 ..< 1024 { interleaved += [Int(record[p]), Int(record[1024 + p]), Int(record[2048 + p])] }
            let png = ImageFiles.png(interleaved, width: 32, height: 32, colorType: .rgb)
            let name = "c\(labels[index])/" + String(100 + index) + ".png"
            try ImageFiles.write(png, to: "\(root)/train/\(name)")
            try ImageFiles.write(png, to: "\(root)/val/\(name)")
        }
        let records = ImageShard(descriptor: DatasetDescriptor.of(.cifar10), split: .train, globalRange: 0 ..< pixels.count,
                                 totalCount: pixels.count, pixels: pixels.flatMap { $0 }, labels: labels)
        let photos = try PhotoDataset(kind: .folder, directory: root, size: 32).shards(rank: 0, ranks: 1).train
        #expect(photos.labels == labels)

        let transforms: [Transform] = [.defaultResizedCrop, .flip]
        let normalisation = Normalisation(DatasetDescriptor.of(.cifar10))
        let fromRecords = try BatchAugmenter(shard: records, transforms: transforms, seed: 4, normalisation: normalisation)
        let fromPhotos = try BatchAugmenter(photographs: DecodedPhotos(photos: photos, shorterSide: 32), transforms: transforms,
                                            seed: 4, normalisation: normalisation)
        let plan = try EpochPlan(shard: records, ranks: 1, rank: 0, batchSize: 8, seed: 9)
        #expect(plan == (try EpochPlan(photos: photos, ranks: 1, rank: 0, batchSize: 8, seed: 9)))
        let samples = Array(plan.order(epoch: 0).prefix(8))
        var a: [Float] = [], b: [Float] = [], la: [Int32] = [], lb: [Int32] = []
        fromRecords.fill(images: &a, labels: &la, samples: samples, copies: 2, epoch: 0)
        try samples.withUnsafeBufferPointer { try fromPhotos.prepare(samples: $0, copies: 2, epoch: 0) }
        fromPhotos.fill(images: &b, labels: &lb, samples: samples, copies: 2, epoch: 0)
        #expect(a.map(\.bitPattern) == b.map(\.bitPattern) && la == lb)

        // One step of the same model on each batch: the same gradient and update, to the bit.
        var updated: [[Float]] = []
        for (images, labels) in [(a, la), (b, lb)] {
            let network = try ModelZoo.make("resnet8", input: TensorShape(channels: 3, height: 32, width: 32), classes: 3, seed: 2)
            let optimizer = SGD(parameters: network.parameters)
            _ = images.withUnsafeBufferPointer { x in
                labels.withUnsafeBufferPointer { y in
                    network.trainStep(images: x.baseAddress!, labels: y.baseAddress!, count: 16, ghostBatchSize: 8,
                                      dropout: DropoutKey(seed: 2, step: 0))
                }
            }
            _ = optimizer.step(network.parameters, SGD.Hyperparameters(learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4),
                               gradientScale: 1.0 / 16)
            updated.append(Array(network.parameters.gradients.buffer) + Array(network.parameters.values.buffer))
        }
        #expect(updated[0].map(\.bitPattern) == updated[1].map(\.bitPattern))
        #expect(updated[0].contains { $0 != 0 })
    }

    @Test("photograph options are checked with the configuration, each named by its option")
    func options() throws {
        let root = NSTemporaryDirectory() + "batchaug-photo-options-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        try ImageFiles.folder(at: root, perClass: 6, validationPerClass: 2)
        func problem(_ edit: (inout TrainingConfiguration) -> Void, ranks: Int = 2) -> String {
            var c = TrainingConfiguration()
            c.dataset = "folder"
            c.dataDirectory = root
            c.batchSize = 4
            edit(&c)
            do { try c.validate(ranks: ranks) } catch { return "\(error)" }
            return "valid"
        }
        #expect(problem { _ in } == "valid")
        #expect(problem { $0.size = 8; $0.valFraction = 0.25 } == "valid")
        #expect(problem { $0.size = 2000 } == "--size must be 8 to 1024 pixels, got 2000")
        #expect(problem { $0.valFraction = 0 } == "--val-fraction must be a fraction between 0 and 1, got 0.0")
        #expect(problem { $0.cacheDecoded = "lots" }.hasPrefix("--cache-decoded must be a size such as 512M"))
        #expect(problem { $0.maxImagePixels = 0 } == "--max-image-pixels must be at least 1, got 0")
        #expect(problem { $0.dataDirectory = nil }.hasPrefix("--data-dir is needed with --dataset folder"))
        #expect(problem { $0.batchSize = 16 }.contains("more than a rank's shard of 6 folder training samples"))
        #expect(problem { $0.dataset = "cifar10"; $0.valFraction = 0.1 }.hasPrefix("--val-fraction applies to --dataset folder and shards"))
        #expect(problem { $0.dataset = "shards"; $0.valFraction = 0.1 }.hasPrefix("--val-fraction applies to --dataset folder;"))
        #expect(problem { $0.dataDirectory = root + "/train" }.hasPrefix("--data-dir \(root)/train/train: missing"))
        // Options that change the computation are locked on resume; the cache and the pixel guard are not.
        var saved = TrainingConfiguration(), requested = saved
        requested.cacheDecoded = "1G"
        requested.maxImagePixels = 10
        #expect(try TrainingLauncher.lockedDifference(saved: saved, requested: requested) == nil)
        saved.size = 64
        #expect(try TrainingLauncher.lockedDifference(saved: saved, requested: requested)?.option == "size")
    }
}

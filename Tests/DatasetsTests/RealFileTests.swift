import Datasets
import Foundation
import Testing

/// The loaders on the real files available on this machine: the CIFAR-10 copy in ../shared and
/// the Debian package's Fashion-MNIST.
@Suite("loaders on real files")
struct RealFileTests {
    @Test("CIFAR-10 copy: 50,000/10,000 records, labels balanced, shards read only their own bytes",
          .enabled(if: cifar10Directory != nil, "the CIFAR-10 copy is not at ../shared/datasets/cifar10-jpeg beside the repository"))
    func cifar10() throws {
        let directory = try #require(cifar10Directory)
        let counters = IOCounters()
        let test = try ImageShard.load(.cifar10, directory: directory, split: .test, counters: counters)
        #expect(test.totalCount == 10_000 && test.count == 10_000)
        #expect(counters.bytesRead == 10_000 * 3073)
        var perClass = [Int](repeating: 0, count: 10)
        for label in test.labels { perClass[Int(label)] += 1 }
        #expect(perClass == [Int](repeating: 1000, count: 10), "the official test split has 1,000 per class")

        // Rank 2 of 3 of the training set: 16,667 records from files 4 and 5, and only their bytes.
        counters.reset()
        let shard = try ImageShard.load(.cifar10, directory: directory, split: .train, rank: 2, ranks: 3, counters: counters)
        #expect(shard.totalCount == 50_000)
        #expect(shard.globalRange == 33_333 ..< 50_000)
        #expect(counters.bytesRead == shard.count * 3073)
        #expect(counters.decodeSeconds > 0)

        // The first record of the shard is record 3,333 of data_batch_4.bin.
        let raw = try Data(contentsOf: URL(fileURLWithPath: directory + "/data_batch_4.bin"))
        let offset = 3_333 * 3073
        #expect(Int32(raw[offset]) == shard.labels[0])
        #expect(Array(shard.pixels(of: 0)) == Array(raw[offset + 1 ..< offset + 3073]))
    }

    @Test("CIFAR-10 normalisation constants match the copy's training set within 0.01",
          .enabled(if: cifar10Directory != nil, "the CIFAR-10 copy is not at ../shared/datasets/cifar10-jpeg beside the repository"))
    func cifar10Statistics() throws {
        let directory = try #require(cifar10Directory)
        let shard = try ImageShard.load(.cifar10, directory: directory, split: .train)
        let (mean, std) = channelStatistics(shard)
        let descriptor = DatasetDescriptor.of(.cifar10)
        for c in 0 ..< 3 {
            #expect(abs(mean[c] - Double(descriptor.mean[c])) < 0.01, "channel \(c): mean \(mean[c])")
            #expect(abs(std[c] - Double(descriptor.std[c])) < 0.01, "channel \(c): std \(std[c])")
        }
    }

    @Test("Fashion-MNIST from the Debian package: gzip read whole, constants match, the default directory",
          .enabled(if: fashionDirectory != nil, "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"))
    func fashionMNIST() throws {
        let counters = IOCounters()
        let train = try ImageShard.load(.fashionMNIST, split: .train, counters: counters)   // default directory
        #expect(train.totalCount == 60_000 && train.count == 60_000)
        let trainFiles = try ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"].map {
            try FileManager.default.attributesOfItem(atPath: "/usr/share/datasets/fashion-mnist/" + $0)[.size] as! Int
        }
        #expect(counters.bytesRead == trainFiles.reduce(0, +), "a gzip file is read whole, once")
        var perClass = [Int](repeating: 0, count: 10)
        for label in train.labels { perClass[Int(label)] += 1 }
        #expect(perClass == [Int](repeating: 6000, count: 10))
        let (mean, std) = channelStatistics(train)
        #expect(abs(mean[0] - 0.2860) < 0.001, "mean \(mean[0])")
        #expect(abs(std[0] - 0.3530) < 0.001, "std \(std[0])")

        // A shard of the test set is the matching slice of the whole.
        let whole = try ImageShard.load(.fashionMNIST, split: .test)
        let shard = try ImageShard.load(.fashionMNIST, split: .test, rank: 1, ranks: 4)
        #expect(whole.totalCount == 10_000 && shard.globalRange == 2_500 ..< 5_000)
        #expect(Array(shard.labels) == Array(whole.labels[2_500 ..< 5_000]))
        #expect(Array(shard.pixels(of: 17)) == Array(whole.pixels(of: 2_517)))
    }
}

import Foundation
import Testing
import TestSupport

/// `bench augment` run as a built binary: JSON per M on the synthetic set, and a corrupt dataset
/// directory failing with the loader's message.
@Suite("bench augment", .serialized)
struct AugmentCLITests {
    @Test("--json prints one object per M; bytes read per epoch do not depend on M")
    func json() throws {
        let outcome = try runBatchAugDist(ranks: nil, [
            "bench", "augment", "--json", "--copies", "1,4,16", "--steps", "3", "--batch-size", "32",
        ], timeout: 60)
        #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
        let records = try outcome.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
        }
        #expect(records.map { $0["copies"] as? Int } == [1, 4, 16], "\(outcome)")
        for record in records {
            #expect(record["dataset"] as? String == "synthetic")
            #expect(record["augment"] as? String == "crop=4,flip,cutout=1x16")
            #expect((record["images_per_second"] as? Double ?? 0) > 0)
            #expect(record["images"] as? Int == 3 * 32 * (record["copies"] as? Int ?? 0))
            #expect(record["bytes_read_per_epoch"] as? Int == 0, "synthetic records are generated, not read")
            #expect(record["bytes_read_by_steps"] as? Int == 0)
        }
    }

    @Test("on CIFAR files: bytes read per epoch are the records' bytes, the same for every M")
    func cifarBytes() throws {
        let directory = NSTemporaryDirectory() + "batchaug-cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in (1 ... 5).map({ "data_batch_\($0).bin" }) + ["test_batch.bin"] {
            let records = (0 ..< 20).flatMap { r in [UInt8(r % 10)] + [UInt8](repeating: UInt8(r), count: 3072) }
            try Data(records).write(to: URL(fileURLWithPath: directory + "/" + name))
        }
        let outcome = try runBatchAugDist(ranks: nil, [
            "bench", "augment", "--dataset", "cifar10", "--data-dir", directory, "--copies", "1,8", "--batch-size", "10", "--json",
        ], timeout: 60)
        #expect(outcome.status == 0, "\(outcome)")
        let bytes = outcome.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["bytes_read_per_epoch"] as? Int
        }
        #expect(bytes == [100 * 3073, 100 * 3073], "\(outcome)")
    }

    @Test("a corrupt dataset exits non-zero with the loader's message naming the file")
    func corrupt() throws {
        let directory = NSTemporaryDirectory() + "batchaug-cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in (1 ... 5).map({ "data_batch_\($0).bin" }) {
            try Data(count: name == "data_batch_4.bin" ? 3073 * 2 + 5 : 3073 * 2).write(to: URL(fileURLWithPath: directory + "/" + name))
        }
        let outcome = try runBatchAugDist(ranks: nil, [
            "bench", "augment", "--dataset", "cifar10", "--data-dir", directory, "--json", "--batch-size", "2",
        ], timeout: 60)
        #expect(outcome.status != 0 && !outcome.timedOut, "\(outcome)")
        #expect(outcome.stderr.contains("\(directory)/data_batch_4.bin: wrong size: 6151 bytes"), "\(outcome)")
        #expect(outcome.stdout.isEmpty, "\(outcome)")

        let missing = try runBatchAugDist(ranks: nil, ["bench", "augment", "--dataset", "mnist", "--data-dir", directory], timeout: 60)
        #expect(missing.status != 0, "\(missing)")
        #expect(missing.stderr.contains("train-images-idx3-ubyte: missing file"), "\(missing)")
    }

    @Test("bad options fail with a message naming the option or entry")
    func badOptions() throws {
        let cases: [([String], String)] = [
            (["--augment", "crop,blur"], "augmentation entry 'blur'"),
            (["--dataset", "imagenet"], "unknown dataset 'imagenet'"),
            (["--copies", "0"], "--copies must be at least 1"),
            (["--batch-size", "100000", "--steps", "1"], "does not fit the smallest shard"),
        ]
        for (arguments, expected) in cases {
            let outcome = try runBatchAugDist(ranks: nil, ["bench", "augment"] + arguments, timeout: 60)
            #expect(outcome.status != 0 && !outcome.timedOut, "\(arguments): \(outcome)")
            #expect(outcome.stderr.contains(expected), "\(arguments): \(outcome)")
        }
    }
}

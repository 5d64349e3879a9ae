import Datasets
import Foundation
import Testing
import TestSupport

/// The loaders on small files written by the tests: valid ones (plain and gzip, sharded) and every
/// kind of corrupt one, each of which must give a `DatasetError` naming the file and the problem.
@Suite("loaders on written files")
struct WrittenFileTests {
    /// Loads and returns the error, failing the test if there is none.
    func loadError(_ kind: DatasetKind, _ directory: TemporaryDirectory, split: Split = .train,
                   rank: Int = 0, ranks: Int = 1) -> DatasetError? {
        do {
            _ = try ImageShard.load(kind, directory: directory.path, split: split, rank: rank, ranks: ranks)
            Issue.record("loading succeeded, an error was expected")
            return nil
        } catch let error as DatasetError {
            return error
        } catch {
            Issue.record("not a DatasetError: \(error)")
            return nil
        }
    }

    @Test("CIFAR-10: records numbered across the 5 files; a shard reads only its records' bytes")
    func cifar10Shards() throws {
        let directory = try TemporaryDirectory()
        try writeCIFAR10(directory, perFile: 7)
        var seen: [Int32] = []
        for rank in 0 ..< 3 {
            let counters = IOCounters()
            let shard = try ImageShard.load(.cifar10, directory: directory.path, split: .train, rank: rank, ranks: 3,
                                            counters: counters)
            #expect(shard.totalCount == 35)
            #expect(counters.bytesRead == shard.count * 3073, "rank \(rank) read \(counters.bytesRead) bytes")
            for local in 0 ..< shard.count {
                let global = shard.globalRange.lowerBound + local
                #expect(shard.labels[local] == Int32(global % 10))
                #expect(shard.pixels(of: local)[100] == testPixel(record: global, offset: 100))
            }
            seen += shard.labels
        }
        #expect(seen == (0 ..< 35).map { Int32($0 % 10) })
        let test = try ImageShard.load(.cifar10, directory: directory.path, split: .test)
        #expect(test.labels == [1, 2, 3])
    }

    @Test("CIFAR-100: two label bytes, the fine label is used; both are validated")
    func cifar100() throws {
        let directory = try TemporaryDirectory()
        try directory.write("train.bin", cifarRecords(0 ..< 4) { [UInt8($0 % 20), UInt8(50 + $0)] })
        try directory.write("test.bin", cifarRecords(0 ..< 2) { [0, UInt8(99 - $0)] })
        let train = try ImageShard.load(.cifar100, directory: directory.path, split: .train)
        #expect(train.labels == [50, 51, 52, 53])
        #expect(train.pixels(of: 3)[0] == testPixel(record: 3, offset: 0))
        #expect(try ImageShard.load(.cifar100, directory: directory.path, split: .test).labels == [99, 98])

        try directory.write("train.bin", cifarRecords(0 ..< 4) { [$0 == 2 ? 20 : 0, 1] })
        #expect(loadError(.cifar100, directory) == DatasetError(path: directory.file("train.bin"),
                                                                 .labelOutOfRange(record: 2, label: 20, classes: 20)))
        try directory.write("train.bin", cifarRecords(0 ..< 4) { [0, $0 == 3 ? 100 : 1] })
        #expect(loadError(.cifar100, directory) == DatasetError(path: directory.file("train.bin"),
                                                                 .labelOutOfRange(record: 3, label: 100, classes: 100)))
    }

    @Test("CIFAR: missing file, wrong size, empty file, label out of range, missing directory")
    func cifarCorrupt() throws {
        let directory = try TemporaryDirectory()
        try writeCIFAR10(directory, perFile: 2)
        try directory.remove("data_batch_3.bin")
        var error = loadError(.cifar10, directory)
        #expect(error == DatasetError(path: directory.file("data_batch_3.bin"), .missingFile))
        #expect(error?.description == "\(directory.file("data_batch_3.bin")): missing file")

        try writeCIFAR10(directory, perFile: 2)
        try directory.write("data_batch_2.bin", cifarRecords(0 ..< 2) { [UInt8($0)] } + [0])
        error = loadError(.cifar10, directory)
        #expect(error?.path == directory.file("data_batch_2.bin"))
        #expect(error?.description.contains("wrong size: 6147 bytes, expected a positive multiple of 3073") == true, "\(String(describing: error))")

        try directory.write("data_batch_2.bin", [])
        #expect(loadError(.cifar10, directory)?.description.contains("data_batch_2.bin: wrong size: 0 bytes") == true)

        try writeCIFAR10(directory, perFile: 2)
        try directory.write("data_batch_5.bin", cifarRecords(8 ..< 10) { $0 == 9 ? [10] : [0] })
        error = loadError(.cifar10, directory)
        #expect(error == DatasetError(path: directory.file("data_batch_5.bin"), .labelOutOfRange(record: 1, label: 10, classes: 10)))
        #expect(error?.description.contains("label 10 of record 1 is out of range") == true)
        // A rank whose shard does not include the bad record is not affected (it reads only its own).
        #expect(try ImageShard.load(.cifar10, directory: directory.path, split: .train, rank: 0, ranks: 2).count == 5)

        let missing = DatasetError(path: "/no/such/dir/data_batch_1.bin", .missingFile)
        #expect(throws: missing) { try ImageShard.load(.cifar10, directory: "/no/such/dir", split: .train) }
        #expect(throws: DatasetError.self) { try ImageShard.load(.cifar10, split: .train) }   // no directory, no default
    }

    @Test("IDX plain and gzip: same records; a plain shard seeks, a gzip one reads the whole file", arguments: [false, true])
    func idx(gzip: Bool) throws {
        let directory = try TemporaryDirectory()
        try writeIDX(directory, count: 10, gzip: gzip)
        let suffix = gzip ? ".gz" : ""
        let fileBytes = try ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"].map { try directory.read($0 + suffix).count }
        for ranks in [1, 3] {
            for rank in 0 ..< ranks {
                let counters = IOCounters()
                let shard = try ImageShard.load(.mnist, directory: directory.path, split: .train, rank: rank, ranks: ranks,
                                                counters: counters)
                #expect(shard.totalCount == 10)
                for local in 0 ..< shard.count {
                    let global = shard.globalRange.lowerBound + local
                    #expect(shard.labels[local] == Int32(global % 10))
                    #expect(Array(shard.pixels(of: local)) == (0 ..< 784).map { testPixel(record: global, offset: $0) })
                }
                let expected = gzip ? fileBytes.reduce(0, +) : 16 + 8 + shard.count * 785
                #expect(counters.bytesRead == expected, "rank \(rank) of \(ranks)")
            }
        }
    }

    @Test("IDX: bad magic, wrong dimensions, count mismatch, wrong size, truncation, label out of range", arguments: [false, true])
    func idxCorrupt(gzip: Bool) throws {
        let directory = try TemporaryDirectory()
        let images = "train-images-idx3-ubyte" + (gzip ? ".gz" : ""), labels = "train-labels-idx1-ubyte" + (gzip ? ".gz" : "")
        func check(images imageBytes: [UInt8]? = nil, labels labelBytes: [UInt8]? = nil,
                   _ expected: DatasetError.Problem, in file: String, _ text: String) throws {
            try writeIDX(directory, count: 6, gzip: gzip, images: imageBytes, labels: labelBytes)
            let error = loadError(.mnist, directory)
            #expect(error?.path == directory.file(file), "\(String(describing: error))")
            #expect(error?.problem == expected, "\(String(describing: error))")
            #expect(error?.description.contains(text) == true, "\(String(describing: error))")
        }
        try check(images: idxImages(count: 6, magic: 0x0803_0000), .badMagic(actual: 0x0803_0000, expected: 0x803),
                  in: images, "bad magic number 0x08030000, expected 0x00000803")
        try check(labels: idxLabels(count: 6, magic: 0x803), .badMagic(actual: 0x803, expected: 0x801), in: labels, "bad magic")
        try check(images: idxImages(count: 6, rows: 30, columns: 28), .wrongDimensions(actual: "30×28", expected: "28×28"),
                  in: images, "wrong image dimensions 30×28")
        try check(labels: idxLabels(count: 5), .countMismatch(images: 6, labels: 5, labelsFile: directory.file(labels)),
                  in: images, "holds 6 images but")
        try check(labels: idxLabels(count: 6) { $0 == 4 ? 10 : 0 }, .labelOutOfRange(record: 4, label: 10, classes: 10),
                  in: labels, "label 10 of record 4")
        try check(images: idxImages(count: 6) + [1, 2, 3],
                  .wrongSize(actual: 16 + 6 * 784 + 3, expected: "4720 " + (gzip ? "decompressed " : "") + "(16-byte header + 6 records × 784 bytes)"),
                  in: images, "wrong size: 4723 bytes")
        let short = Array(idxImages(count: 6).dropLast(100))
        if gzip {
            try check(images: short, .truncated(actual: 4620, expected: 4720), in: images, "truncated: 4620 bytes")
        } else {
            try check(images: short, .wrongSize(actual: 4620, expected: "4720 (16-byte header + 6 records × 784 bytes)"),
                      in: images, "wrong size: 4620 bytes")
        }
        try check(images: Array(idxImages(count: 6).prefix(10)), .truncated(actual: 10, expected: 16), in: images, "truncated")
    }

    @Test("gzip: truncated stream, corrupt data, not gzip, trailing garbage, impossible count; concatenated members load")
    func gzipCorrupt() throws {
        let directory = try TemporaryDirectory()
        let name = "train-images-idx3-ubyte.gz"
        try writeIDX(directory, count: 20, gzip: true)
        let good = try directory.read(name)

        try directory.write(name, Array(good.prefix(good.count - 30)))
        var error = loadError(.mnist, directory)
        #expect(error?.problem == .truncatedGzip(compressedBytes: good.count - 30), "\(String(describing: error))")
        #expect(error?.description.contains("\(name): truncated gzip stream") == true)

        var flipped = good
        for i in stride(from: 40, to: good.count - 20, by: 97) { flipped[i] ^= 0x5a }
        try directory.write(name, flipped)
        error = loadError(.mnist, directory)
        guard case .corruptGzip = error?.problem else { Issue.record("\(String(describing: error))"); return }

        try directory.write(name, idxImages(count: 20))   // plain bytes under a .gz name
        error = loadError(.mnist, directory)
        #expect(error?.description.contains("not a gzip file (first bytes 0x00, expected 0x1f8b)") == true || error?.description.contains("not a gzip file") == true,
                "\(String(describing: error))")

        try directory.write(name, good + [0, 1, 2])
        #expect(loadError(.mnist, directory)?.description.contains("3 bytes of trailing data") == true)

        // A header promising far more records than the file can hold fails before any allocation.
        try directory.write("train-images-idx3-ubyte", bigEndian([0x803, 4_000_000_000, 28, 28]) + [1, 2, 3])
        try directory.remove(name)
        try directory.gzip("train-images-idx3-ubyte")
        try directory.write("train-labels-idx1-ubyte", bigEndian([0x801, 4_000_000_000]))
        try directory.remove("train-labels-idx1-ubyte.gz")
        try directory.gzip("train-labels-idx1-ubyte")
        error = loadError(.mnist, directory)
        #expect(error?.description.contains("more than deflate can pack") == true, "\(String(describing: error))")

        // Two gzip members concatenated read as one stream (as gunzip reads them).
        let whole = idxImages(count: 20)
        try directory.write("part1", Array(whole.prefix(1000)))
        try directory.write("part2", Array(whole.dropFirst(1000)))
        try directory.gzip("part1")
        try directory.gzip("part2")
        try directory.write(name, try directory.read("part1.gz") + directory.read("part2.gz"))
        try directory.write("train-labels-idx1-ubyte", idxLabels(count: 20))
        try directory.remove("train-labels-idx1-ubyte.gz")
        let shard = try ImageShard.load(.mnist, directory: directory.path, split: .train)
        #expect(Array(shard.pixels(of: 19)) == (0 ..< 784).map { testPixel(record: 19, offset: $0) })
    }

    @Test("missing IDX files and directories are named")
    func idxMissing() throws {
        let directory = try TemporaryDirectory()
        try writeIDX(directory, count: 3, gzip: true)
        try directory.remove("train-labels-idx1-ubyte.gz")
        #expect(loadError(.fashionMNIST, directory) == DatasetError(path: directory.file("train-labels-idx1-ubyte"), .missingFile))
        #expect(loadError(.mnist, directory, split: .test)?.problem == .missingFile)
        #expect(throws: DatasetError(path: "/no/such/dir", .missingFile)) {
            try ImageShard.load(.mnist, directory: "/no/such/dir", split: .train)
        }
    }

    @Test("more ranks than records, and a rank out of range, are errors")
    func badRequests() throws {
        let directory = try TemporaryDirectory()
        try writeIDX(directory, count: 3, gzip: false)
        #expect(loadError(.mnist, directory, ranks: 4)?.description.contains("3 records cannot be shared by 4 ranks") == true)
        #expect(loadError(.mnist, directory, rank: 2, ranks: 2)?.description.contains("rank 2 is not in 0..<2") == true)
    }

    /// Mutations of valid files (the shared fuzzer: bit flips, truncation, extension, repeated and
    /// swapped slices, huge numbers, extreme bytes), one file at a time: every load either succeeds
    /// or throws a `DatasetError` naming the directory — a crash would end the test run, a hang its
    /// time limit. Prints the inputs tried and the seed.
    @Test("fuzzed CIFAR records, IDX headers and gzip streams: a valid result or a DatasetError, never a crash",
          arguments: ["cifar10", "idx", "idx.gz"])
    func fuzzFiles(format: String) throws {
        let directory = try TemporaryDirectory()
        let kind: DatasetKind = format == "cifar10" ? .cifar10 : .mnist
        let gzip = format == "idx.gz"
        if kind == .mnist { try writeIDX(directory, count: 12, gzip: gzip) } else { try writeCIFAR10(directory, perFile: 2) }
        let names = kind == .mnist ? ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"].map { $0 + (gzip ? ".gz" : "") }
                                   : ["data_batch_1.bin", "data_batch_5.bin"]
        for name in names {
            let original = try directory.read(name)
            var detected = 0, other: [String] = []
            let tried = TestSupport.fuzz("\(format) \(name)", valid: [original], seconds: 1.5, limit: 4_000) { bytes in
                try directory.write(name, bytes)
                defer { try? directory.write(name, original) }
                do {
                    _ = try ImageShard.load(kind, directory: directory.path, split: .train, rank: 1, ranks: 2)
                } catch let error as DatasetError {
                    detected += 1
                    if !error.description.hasPrefix(directory.path) { other.append(error.description) }
                } catch {
                    other.append("\(type(of: error)): \(error)")
                }
            }
            #expect(other.isEmpty, "errors that are not a DatasetError naming the file: \(other.prefix(3))")
            #expect(tried >= 64 && detected > tried / 10, "\(name): \(detected) of \(tried) mutations detected")
        }
    }
}

import Datasets
import Foundation
import Testing
import TestSupport

/// Folders of photographs (`ImageFolder`, `PhotoShard`), tar shards made from them
/// (`ShardPacking`, `ShardIndex`) and read back, by us and by the real tar writers and readers.
@Suite("photographs: folders, shards, epoch orders, checks")
struct PhotoFolderTests {
    static func message(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return "no error"
    }

    static func descriptor(_ folder: ImageFolder) -> DatasetDescriptor {
        .photos(.folder, classNames: folder.classes, size: 32, trainCount: folder.train.count, testCount: folder.validation.count)
    }

    /// The bytes of every sample of `photos`, in local order.
    static func bytes(_ photos: PhotoShard) throws -> [[UInt8]] {
        let buffer = ByteBuffer()
        return try (0 ..< photos.count).map { Array(try photos.read($0, into: buffer, limit: 1 << 30, counters: nil)) }
    }

    @Test("classes are the sorted folders; samples in torchvision's order; other and hidden files are named, not samples")
    func listing() throws {
        let directory = try TemporaryDirectory()
        let root = directory.path
        let jpeg = ImageFiles.jpeg(ImageFiles.picture(width: 8, height: 8), width: 8, height: 8)
        for path in ["train/bees/b.jpg", "train/bees/A.PNG", "train/bees/sub/a.jpeg", "train/bees/sub dir/z.jpg",
                     "train/ants/x.jpg", "train/ants/notes.txt", "train/ants/._x.jpg", "train/ants/anim.gif",
                     "train/.ipynb_checkpoints/y.jpg", "train/README", "val/ants/v.jpg", "val/bees/w.png"] {
            try ImageFiles.write(jpeg, to: root + "/" + path)
        }
        let folder = try ImageFolder(root: root)
        #expect(folder.classes == ["ants", "bees"])
        // Directories by path, as torchvision sorts os.walk's (root, dirs, files): bees, bees/sub,
        // bees/sub dir; files by name (bytes: "A.PNG" before "b.jpg") within each.
        #expect(folder.train.paths == ["train/ants/x.jpg", "train/bees/A.PNG", "train/bees/b.jpg", "train/bees/sub/a.jpeg",
                                       "train/bees/sub dir/z.jpg"])
        #expect(folder.train.labels == [0, 1, 1, 1, 1])
        #expect(folder.validation.paths == ["val/ants/v.jpg", "val/bees/w.png"])
        #expect(folder.skipped == [".ipynb_checkpoints", "README", "ants/._x.jpg", "ants/anim.gif", "ants/notes.txt"]
            .map { "train/" + $0 })
        let dataset = try PhotoDataset(kind: .folder, directory: root, size: 32)
        #expect(dataset.skippedNote?.hasPrefix("5 files are not samples (not JPEG or PNG images by their names, or hidden): ") == true)
        #expect(dataset.descriptor.classNames == ["ants", "bees"] && dataset.descriptor.trainCount == 5)
    }

    @Test("refused layouts name the folder and what to do: no train/, no val/, a class missing from val/ or from train/, an empty class, a link loop, a link to nothing")
    func refusedLayouts() throws {
        let jpeg = ImageFiles.jpeg(ImageFiles.picture(width: 8, height: 8), width: 8, height: 8)
        func make(_ paths: [String]) throws -> TemporaryDirectory {
            let directory = try TemporaryDirectory()
            for path in paths { try ImageFiles.write(jpeg, to: directory.path + "/" + path) }
            return directory
        }
        let missing = try TemporaryDirectory()
        #expect(Self.message { _ = try ImageFolder(root: missing.path + "/nowhere") }.contains(
            "no such directory; --data-dir names the folder that holds train/<class>/…"))
        #expect(Self.message { _ = try ImageFolder(root: missing.path) } == "\(missing.path)/train: missing: the training images go in "
                + "train/<class>/… (one folder per class) under \(missing.path)")
        let noVal = try make(["train/a/1.jpg"])
        #expect(Self.message { _ = try ImageFolder(root: noVal.path) }.contains("/val: missing: put the validation images in val/<class>/…"))
        let missingClass = try make(["train/a/1.jpg", "train/b/1.jpg", "val/a/1.jpg"])
        #expect(Self.message { _ = try ImageFolder(root: missingClass.path) } == "\(missingClass.path)/val/b: missing: class 'b' has a "
                + "folder in train/ but none in val/ (every class needs its validation images: add val/b/, or take the validation "
                + "images from train/ with --val-fraction)")
        let extraClass = try make(["train/a/1.jpg", "val/a/1.jpg", "val/c/1.jpg"])
        #expect(Self.message { _ = try ImageFolder(root: extraClass.path) }.contains("val/c: class 'c' has a folder in val/ but none in train/"))
        let empty = try make(["train/a/1.jpg", "train/b/readme.txt", "val/a/1.jpg", "val/b/1.jpg"])
        #expect(Self.message { _ = try ImageFolder(root: empty.path) } == "\(empty.path)/train/b: class 'b' has no JPEG or PNG image "
                + "(.jpg, .jpeg, .png): add its images, or remove the folder (and its val/ folder)")
        let loop = try make(["train/a/1.jpg", "val/a/1.jpg"])
        try FileManager.default.createSymbolicLink(atPath: loop.path + "/train/a/again", withDestinationPath: loop.path + "/train/a")
        #expect(Self.message { _ = try ImageFolder(root: loop.path) }.contains("train/a/again: a symbolic link loop"))
        let selfLink = try make(["train/a/1.jpg", "val/a/1.jpg"])
        try FileManager.default.createSymbolicLink(atPath: selfLink.path + "/train/a/me.jpg", withDestinationPath: "me.jpg")
        #expect(Self.message { _ = try ImageFolder(root: selfLink.path) }.contains("train/a/me.jpg: a symbolic link loop"))
        let dangling = try make(["train/a/1.jpg", "val/a/1.jpg"])
        try FileManager.default.createSymbolicLink(atPath: dangling.path + "/train/a/gone.jpg", withDestinationPath: "/nonexistent/x.jpg")
        #expect(Self.message { _ = try ImageFolder(root: dangling.path) }.contains("train/a/gone.jpg: a symbolic link to a file that does not exist"))
        // A link to a folder elsewhere is followed (torchvision follows links too).
        let linked = try make(["train/a/1.jpg", "val/a/1.jpg", "elsewhere/2.jpg"])
        try FileManager.default.createSymbolicLink(atPath: linked.path + "/train/a/more", withDestinationPath: linked.path + "/elsewhere")
        #expect(try ImageFolder(root: linked.path).train.paths == ["train/a/1.jpg", "train/a/more/2.jpg"])
    }

    @Test("--val-fraction: a fixed choice per class, at least one training sample left, both splits in the folder's order")
    func validationFraction() throws {
        let directory = try TemporaryDirectory()
        try ImageFiles.folder(at: directory.path, classes: ["a", "b", "c"], perClass: 10, validationPerClass: 0)
        try ImageFiles.write(ImageFiles.jpeg(ImageFiles.picture(width: 8, height: 8), width: 8, height: 8),
                             to: directory.path + "/train/d/only.jpg")
        let folder = try ImageFolder(root: directory.path, validationFraction: 0.2)
        #expect(folder.validation.count == 6 && folder.train.count == 25)
        #expect(folder.validation.labels == [0, 0, 1, 1, 2, 2], "2 of 10 per class; class d's one sample stays in train")
        #expect(folder.validation.paths == folder.validation.paths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(Set(folder.validation.paths).isDisjoint(with: folder.train.paths))
        #expect(try ImageFolder(root: directory.path, validationFraction: 0.2).validation.paths == folder.validation.paths)
    }

    @Test("a rank's part: the folder shard r·n/N..<(r+1)·n/N, its files' bytes; a subset of it; the epoch order visits it")
    func folderShards() throws {
        let directory = try TemporaryDirectory()
        try ImageFiles.folder(at: directory.path, perClass: 7, validationPerClass: 2)
        let folder = try ImageFolder(root: directory.path)
        let parts = try (0 ..< 3).map { try PhotoShard.folder(folder, descriptor: Self.descriptor(folder), split: .train, rank: $0, ranks: 3) }
        #expect(parts.map(\.globalIndices) == [Array(0 ..< 4), Array(4 ..< 9), Array(9 ..< 14)])
        #expect(parts[1].name(of: 0) == directory.path + "/" + folder.train.paths[4])
        #expect(try Self.bytes(parts[1])[2] == [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory.path + "/" + folder.train.paths[6]))))
        let plan = try EpochPlan(photos: parts[2], ranks: 3, rank: 2, batchSize: 2, seed: 5)
        #expect(plan.stepsPerEpoch == 2 && Set(plan.order(epoch: 1)) == Set(0 ..< 5))
        let subset = try PhotoShard.folder(folder, descriptor: Self.descriptor(folder), split: .train, rank: 1, ranks: 2, subset: 6, seed: 3)
        #expect(subset.totalCount == 6 && subset.globalIndices == [3, 4, 5])
        let chosen = try TrainingSubset(totalCount: 14, count: 6, seed: 3).indices(rank: 1, ranks: 2)
        #expect(subset.labels == chosen.map { folder.train.labels[$0] })
    }

    @Test("pack: shards in the folder's order with the same bytes; Python's tarfile reads them; ranks own shards r, r+N, …; --shards N gives the folder's shards")
    func packing() throws {
        let directory = try TemporaryDirectory()
        try ImageFiles.folder(at: directory.path, perClass: 9, validationPerClass: 4, width: 40, height: 30)
        let folder = try ImageFolder(root: directory.path)
        let descriptor = Self.descriptor(folder)
        let sizes = try folder.train.paths.map { try FileManager.default.attributesOfItem(atPath: directory.path + "/" + $0)[.size] as! Int }
        // Shards of at most three samples' worth (each sample: two headers and padded data).
        let limit = 1024 + 3 * (2 * 512 + (sizes.max()! + 511) / 512 * 512 + 512)
        let output = directory.path + "/packed"
        let outcome = try ShardPacking.pack(folder: directory.path, output: output, cut: .bytes(limit))
        #expect(outcome.index.classes == folder.classes)
        #expect(outcome.index.count(.train) == 18 && outcome.index.count(.test) == 8)
        #expect(outcome.index.train.count >= 6)
        for shard in outcome.index.train + outcome.index.val {
            let size = try FileManager.default.attributesOfItem(atPath: output + "/" + shard.file)[.size] as! Int
            #expect(size <= limit && size % 512 == 0, "\(shard.file): \(size) bytes")
        }
        #expect(try ShardIndex.read(directory: output) == outcome.index)
        #expect(Self.message { _ = try ShardPacking.pack(folder: directory.path, output: output, cut: .bytes(limit)) }
            .contains("shards.json: already exists"))
        // Packing twice gives the same bytes.
        let again = directory.path + "/again"
        _ = try ShardPacking.pack(folder: directory.path, output: again, cut: .bytes(limit))
        for shard in outcome.index.train + outcome.index.val {
            #expect(FileManager.default.contents(atPath: output + "/" + shard.file) == FileManager.default.contents(atPath: again + "/" + shard.file))
        }

        // Every rank's part holds its samples' bytes, the folder's, under the folder's numbers.
        let ranks = 2
        var seen: [Int: [UInt8]] = [:]
        for rank in 0 ..< ranks {
            let part = try PhotoShard.shards(directory: output, index: outcome.index, descriptor: descriptor, split: .train,
                                             rank: rank, ranks: ranks)
            #expect(part.blocks.map(\.shard) == Array(stride(from: rank, to: outcome.index.train.count, by: ranks)))
            #expect(part.rankCounts == (0 ..< ranks).map { r in stride(from: r, to: outcome.index.train.count, by: ranks)
                .reduce(0) { $0 + outcome.index.train[$1].samples } })
            for (local, bytes) in try Self.bytes(part).enumerated() {
                let global = part.globalIndices[local]
                seen[global] = bytes
                #expect(part.labels[local] == folder.train.labels[global])
            }
            let plan = try EpochPlan(photos: part, ranks: ranks, rank: rank, batchSize: 3, seed: 1)
            let order = plan.order(epoch: 2)
            #expect(Set(order) == Set(0 ..< part.count))
            // Shard by shard: the samples of each block are contiguous in the order.
            var position = 0
            while position < order.count {
                let block = try #require(part.blocks.first { $0.samples.contains(order[position]) })
                #expect(Set(order[position ..< position + block.samples.count]) == Set(block.samples))
                position += block.samples.count
            }
        }
        #expect(seen.count == 18)
        for (global, bytes) in seen {
            #expect(bytes == [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory.path + "/" + folder.train.paths[global]))))
        }
        let validation = try PhotoShard.shards(directory: output, index: outcome.index, descriptor: descriptor, split: .test, rank: 1, ranks: 2)
        #expect(validation.globalIndices == [4, 5, 6, 7] && validation.labels == Array(folder.validation.labels[4...]))

        // Python's tarfile, the reference reader, sees the members and bytes we wrote.
        let listing = try runProcess("/usr/bin/env", ["python3", "-c", """
            import sys, tarfile
            with tarfile.open(sys.argv[1]) as t:
                for m in t.getmembers():
                    print(m.name, m.size, m.isfile(), t.extractfile(m).read()[:4].hex())
            """, output + "/" + outcome.index.train[1].file], timeout: 60)
        #expect(listing.status == 0, "\(listing)")
        let first = outcome.index.train[0].samples
        #expect(listing.stdout.split(separator: "\n").first == "\(String(format: "%08d", first)).jpg \(sizes[first]) True ffd8ffe0",
                "\(listing.stdout)")

        // --shards N: shard r holds exactly rank r's folder shard, and its epoch order is the folder's.
        let even = directory.path + "/even"
        _ = try ShardPacking.pack(folder: directory.path, output: even, cut: .shards(ranks))
        let evenIndex = try ShardIndex.read(directory: even)
        for rank in 0 ..< ranks {
            let fromShards = try PhotoShard.shards(directory: even, index: evenIndex, descriptor: descriptor, split: .train,
                                                   rank: rank, ranks: ranks)
            let fromFolder = try PhotoShard.folder(folder, descriptor: descriptor, split: .train, rank: rank, ranks: ranks)
            #expect(fromShards.globalIndices == fromFolder.globalIndices && fromShards.labels == fromFolder.labels)
            #expect(try Self.bytes(fromShards) == Self.bytes(fromFolder))
            let a = try EpochPlan(photos: fromShards, ranks: ranks, rank: rank, batchSize: 4, seed: 11)
            let b = try EpochPlan(photos: fromFolder, ranks: ranks, rank: rank, batchSize: 4, seed: 11)
            #expect(a.stepsPerEpoch == b.stepsPerEpoch)
            for epoch in 0 ..< 3 { #expect(a.order(epoch: epoch) == b.order(epoch: epoch)) }
        }
        #expect(Self.message { _ = try PhotoShard.shards(directory: even, index: evenIndex, descriptor: descriptor, split: .train,
                                                         rank: 0, ranks: 3) }.contains("lists 2 training shards for 3 ranks"))
    }

    @Test("shards written by GNU tar and by Python's tarfile (pax headers, long names) read as ours; a damaged shard or index is refused")
    func foreignShards() throws {
        let directory = try TemporaryDirectory()
        let members = directory.path + "/members"
        let long = String(repeating: "k", count: 120)
        var samples: [[UInt8]] = []
        for (i, key) in ["a", "b/\(long)", "c"].enumerated() {
            let bytes = ImageFiles.jpeg(ImageFiles.picture(width: 20, height: 10, seed: i), width: 20, height: 10)
            samples.append(bytes)
            try ImageFiles.write(bytes, to: "\(members)/\(key).jpg")
            try ImageFiles.write(Array("\(i % 2)\n".utf8), to: "\(members)/\(key).cls")
            try ImageFiles.write(Array("caption".utf8), to: "\(members)/\(key).txt")
        }
        let names = ["a.jpg", "a.cls", "a.txt", "b/\(long).txt", "b/\(long).jpg", "b/\(long).cls", "c.cls", "c.jpg"]
        let gnu = try runProcess("/usr/bin/env", ["tar", "--format=gnu", "-cf", directory.path + "/gnu.tar", "-C", members] + names, timeout: 60)
        #expect(gnu.status == 0, "\(gnu)")
        let pax = try runProcess("/usr/bin/env", ["python3", "-c", """
            import sys, tarfile
            with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
                for name in sys.argv[3:]:
                    t.add(sys.argv[2] + "/" + name, arcname=name)
            """, directory.path + "/pax.tar", members] + names, timeout: 60)
        #expect(pax.status == 0, "\(pax)")
        let index = ShardIndex(classes: ["even", "odd"], train: [.init(file: "gnu.tar", samples: 3), .init(file: "pax.tar", samples: 3)],
                               val: [.init(file: "gnu.tar", samples: 3)])
        try index.write(directory: directory.path)
        let descriptor = DatasetDescriptor.photos(.shards, classNames: ["even", "odd"], size: 16, trainCount: 6, testCount: 3)
        for rank in 0 ..< 2 {
            let part = try PhotoShard.shards(directory: directory.path, index: try ShardIndex.read(directory: directory.path),
                                             descriptor: descriptor, split: .train, rank: rank, ranks: 2)
            #expect(part.labels == [0, 1, 0] && part.globalIndices == Array((3 * rank) ..< (3 * rank + 3)))
            #expect(try Self.bytes(part) == samples)
            #expect(part.name(of: 1) == directory.path + "/" + (rank == 0 ? "gnu.tar" : "pax.tar") + ": b/\(long).jpg")
        }

        // A shard whose samples disagree with the index, a damaged header, a sample without a class.
        var wrong = index
        wrong.train[0].samples = 4
        try wrong.write(directory: directory.path)
        #expect(Self.message { _ = try PhotoShard.shards(directory: directory.path, index: wrong, descriptor: descriptor, split: .train,
                                                         rank: 0, ranks: 2) }.contains("gnu.tar: holds 3 samples, but shards.json says 4"))
        var damaged = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory.path + "/gnu.tar")))
        damaged[10] ^= 0x55
        try Data(damaged).write(to: URL(fileURLWithPath: directory.path + "/gnu.tar"))
        #expect(Self.message { _ = try PhotoShard.shards(directory: directory.path, index: index, descriptor: descriptor, split: .train,
                                                         rank: 0, ranks: 2) }.contains("gnu.tar: not a tar archive, or a damaged one: the header at byte 0 has checksum"))
        try FileManager.default.removeItem(atPath: "\(members)/c.cls")
        let noClass = try runProcess("/usr/bin/env", ["tar", "-cf", directory.path + "/gnu.tar", "-C", members, "a.jpg", "a.cls", "c.jpg"],
                                     timeout: 60)
        #expect(noClass.status == 0)
        #expect(Self.message { _ = try PhotoShard.shards(directory: directory.path, index: index, descriptor: descriptor, split: .train,
                                                         rank: 0, ranks: 2) }.contains("gnu.tar: sample 'c' has no .cls member"))
        try Data("{\"format\": \"something else\"}".utf8).write(to: URL(fileURLWithPath: directory.path + "/shards.json"))
        #expect(Self.message { _ = try ShardIndex.read(directory: directory.path) }.contains("shards.json: is not an index of shards"))
        try FileManager.default.removeItem(atPath: directory.path + "/shards.json")
        #expect(Self.message { _ = try ShardIndex.read(directory: directory.path) }.contains("shards.json: missing: shards need the index"))
    }

    @Test("decoded photographs: a cached image is the bytes a fresh decode gives; the cache keeps to its budget")
    func cache() throws {
        let directory = try TemporaryDirectory()
        try ImageFiles.folder(at: directory.path, perClass: 5, validationPerClass: 1, width: 64, height: 48)
        let folder = try ImageFolder(root: directory.path)
        let photos = try PhotoShard.folder(folder, descriptor: Self.descriptor(folder), split: .train, rank: 0, ranks: 1)
        let plain = DecodedPhotos(photos: photos, shorterSide: 24)
        let cached = DecodedPhotos(photos: photos, shorterSide: 24, cacheBudget: 4 * 3 * 36 * 48)
        for round in 0 ..< 2 {
            let samples = round == 0 ? [0, 1, 2, 3, 4, 5, 6, 7] : [7, 6, 5, 4, 3, 2, 1, 0]
            try samples.withUnsafeBufferPointer {
                try plain.load($0)
                try cached.load($0)
            }
            for (slot, sample) in samples.enumerated() {
                let a = plain.image(slot: slot, sample: sample), b = cached.image(slot: slot, sample: sample)
                #expect(a.width == b.width && a.height == b.height)
                #expect(Array(UnsafeBufferPointer(start: a.base, count: a.byteCount)) == Array(UnsafeBufferPointer(start: b.base, count: b.byteCount)))
            }
        }
        #expect(cached.cachedBytes <= cached.cacheBudget && cached.cachedImages >= 2 && plain.cachedImages == 0)
    }

    @Test("data check: every sample of a folder or of shards decoded once over the ranks, the bad files named; damaged shards too")
    func check() throws {
        let directory = try TemporaryDirectory()
        let paths = try ImageFiles.folder(at: directory.path, perClass: 5, validationPerClass: 2)
        _ = try ShardPacking.pack(folder: directory.path, output: directory.path + "/shards", cut: .shards(2))
        // Two bad files: one truncated, one not an image.
        let truncated = paths[3], html = paths[12]
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: truncated)))
        try Data(bytes.prefix(bytes.count - 100)).write(to: URL(fileURLWithPath: truncated))
        try Data("<html>".utf8).write(to: URL(fileURLWithPath: html))
        var report = DatasetCheck.Report()
        for rank in 0 ..< 3 { report.add(try DatasetCheck.run(directory: directory.path, rank: rank, ranks: 3, maxPixels: 1 << 20)) }
        #expect(report.checked == 14)
        #expect(report.problems.map(\.file).sorted() == [truncated, html].sorted(), "\(report.problems)")
        #expect(report.problems.contains { $0.message.contains("Premature end of JPEG file") })
        let contents = try DatasetCheck.contents(of: directory.path)
        #expect(contents.kind == .folder && contents.train == 10 && contents.validation == 4)

        let shards = directory.path + "/shards"
        #expect(try DatasetCheck.run(directory: shards, rank: 0, ranks: 1, maxPixels: 1 << 20).problems.isEmpty)
        let index = try ShardIndex.read(directory: shards)
        var damaged = [UInt8](try Data(contentsOf: URL(fileURLWithPath: shards + "/" + index.train[1].file)))
        damaged.removeLast(damaged.count / 3)
        try Data(damaged).write(to: URL(fileURLWithPath: shards + "/" + index.train[1].file))
        var shardReport = DatasetCheck.Report()
        for rank in 0 ..< 2 { shardReport.add(try DatasetCheck.run(directory: shards, rank: rank, ranks: 2, maxPixels: 1 << 20)) }
        #expect(shardReport.checked == 14)
        #expect(shardReport.problems.map(\.file) == [shards + "/" + index.train[1].file], "\(shardReport.problems)")
        #expect(Self.message { _ = try DatasetCheck.contents(of: directory.path + "/train") }.contains("holds neither train/<class>/…"))
    }

    @Test("fuzzed tar shards and shards.json: samples or a DatasetError, never a crash or a hang")
    func fuzzShards() throws {
        let directory = try TemporaryDirectory()
        try ImageFiles.folder(at: directory.path, perClass: 2, validationPerClass: 1, width: 8, height: 8, vary: false)
        let packed = directory.path + "/packed"
        let index = try ShardPacking.pack(folder: directory.path, output: packed, cut: .shards(1)).index
        let shard = [UInt8](try Data(contentsOf: URL(fileURLWithPath: packed + "/" + index.train[0].file)))
        let json = [UInt8](try Data(contentsOf: URL(fileURLWithPath: packed + "/shards.json")))
        let descriptor = DatasetDescriptor.photos(.shards, classNames: index.classes, size: 8, trainCount: 4, testCount: 2)
        let target = URL(fileURLWithPath: packed + "/" + index.train[0].file)
        #expect(fuzz("tar shards", valid: [shard], seconds: 2) { bytes in
            try Data(bytes).write(to: target)
            do {
                _ = try PhotoShard.shards(directory: packed, index: index, descriptor: descriptor, split: .train, rank: 0, ranks: 1)
            } catch is DatasetError {
            } catch {
                Issue.record("not a DatasetError: \(error)")
            }
        } > 20)
        let indexFile = URL(fileURLWithPath: packed + "/shards.json")
        #expect(fuzz("shards.json", valid: [json], seconds: 1) { bytes in
            try Data(bytes).write(to: indexFile)
            do { _ = try ShardIndex.read(directory: packed) } catch is DatasetError {} catch { Issue.record("\(error)") }
        } > 20)
    }
}

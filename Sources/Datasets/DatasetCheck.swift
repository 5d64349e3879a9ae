/// `batchaug-dist data check DIR`: every sample of a folder (`train/`, and `val/` if present) or of
/// a directory of shards decoded once, at full size, and every bad file named with what is wrong —
/// the list to go through before a long run rather than a stop in the middle of one.
///
/// The work is shared: rank r of N decodes the samples `ShardPartition` gives it of each split of a
/// folder, or the shards r, r+N, … (training shards, then validation shards) of a shard set; the
/// caller gathers the ranks' reports. A layout the loaders refuse (no train/, a class missing from
/// val/, a symbolic link loop, a missing or damaged index) is thrown; a damaged shard is reported
/// as a bad file, as are its samples that do not decode.
public enum DatasetCheck {
    public struct Problem: Codable, Equatable, Sendable {
        /// The file (or shard and member).
        public let file: String
        public let message: String
    }

    public struct Report: Codable, Equatable, Sendable {
        /// Samples decoded (or found in damaged shards) by this rank.
        public var checked = 0
        public var problems: [Problem] = []

        public init() {}

        public mutating func add(_ other: Report) {
            checked += other.checked
            problems += other.problems
        }
    }

    /// What the directory holds, for the summary line: its kind, the samples of its splits and
    /// the files that are not samples (folders).
    public struct Contents: Sendable {
        public let kind: DatasetKind
        public let train: Int
        public let validation: Int
        public let skipped: [String]
    }

    /// What `directory` is (a folder with train/, or shards with shards.json), refusing anything else.
    public static func contents(of directory: String) throws -> Contents {
        if fileExists(joinPath(directory, ShardIndex.fileName)) {
            let index = try ShardIndex.read(directory: directory)
            return Contents(kind: .shards, train: index.count(.train), validation: index.count(.test), skipped: [])
        }
        guard directoryExists(joinPath(directory, "train")) else {
            throw DatasetError(path: directory, .layout("holds neither train/<class>/… (a folder of photographs) nor "
                + "\(ShardIndex.fileName) (shards): give the directory that --data-dir would name"))
        }
        let folder = try ImageFolder(root: directory, requiringValidation: false)
        return Contents(kind: .folder, train: folder.train.count, validation: folder.validation.count, skipped: folder.skipped)
    }

    /// Decodes rank `rank`'s share of the samples of `directory` with at most `maxPixels` pixels each.
    public static func run(directory: String, rank: Int, ranks: Int, maxPixels: Int) throws -> Report {
        let decoder = ImageDecoder(maxPixels: maxPixels)
        let encoded = ByteBuffer(), decoded = ByteBuffer()
        var report = Report()
        func decode(_ name: String, _ read: () throws -> UnsafeRawBufferPointer) {
            report.checked += 1
            do {
                _ = try decoder.decode(try read(), path: name, shorterSide: nil, into: decoded)
            } catch {
                report.problems.append(Problem(file: name, message: "\(error)"))
            }
        }
        if fileExists(joinPath(directory, ShardIndex.fileName)) {
            let index = try ShardIndex.read(directory: directory)
            let all = index.train + index.val
            for s in stride(from: rank, to: all.count, by: ranks) {
                let path = joinPath(directory, all[s].file)
                let samples: [ShardSample]
                let file: DataFile
                do {
                    file = try DataFile(path: path, counters: nil)
                    samples = try TarArchive.samples(of: file, classes: index.classes.count)
                    guard samples.count == all[s].samples else {
                        throw DatasetError(path: path, .layout("holds \(samples.count) samples, but \(ShardIndex.fileName) says "
                            + "\(all[s].samples): re-create the shards with `batchaug-dist data pack`"))
                    }
                } catch {
                    report.checked += all[s].samples
                    report.problems.append(Problem(file: path, message: "\(error)"))
                    continue
                }
                for sample in samples {
                    decode(path + ": " + sample.image.name) {
                        guard sample.image.size <= decoder.maxFileBytes else {
                            throw DatasetError(path: path + ": " + sample.image.name,
                                               .tooLarge(bytes: sample.image.size, limit: decoder.maxFileBytes))
                        }
                        encoded.reserve(sample.image.size)
                        let bytes = UnsafeMutableRawBufferPointer(start: encoded.base, count: sample.image.size)
                        try file.readExactly(at: sample.image.offset, into: bytes)
                        return UnsafeRawBufferPointer(bytes)
                    }
                }
            }
            return report
        }
        let folder = try ImageFolder(root: directory, requiringValidation: false)
        let descriptor = DatasetDescriptor.photos(.folder, classNames: folder.classes, size: 1, trainCount: folder.train.count,
                                                  testCount: folder.validation.count)
        for split in Split.allCases where !folder.listing(split).paths.isEmpty {
            // A split too small to share is checked by rank 0 alone.
            let shared = folder.listing(split).count >= ranks
            if !shared && rank != 0 { continue }
            let photos = try PhotoShard.folder(folder, descriptor: descriptor, split: split, rank: shared ? rank : 0,
                                               ranks: shared ? ranks : 1)
            for sample in 0 ..< photos.count {
                decode(photos.name(of: sample)) { try photos.read(sample, into: encoded, limit: decoder.maxFileBytes, counters: nil) }
            }
        }
        return report
    }
}

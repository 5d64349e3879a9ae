/// One rank's part of a split of photographs (`--dataset folder` or `shards`): where each of its
/// samples' encoded bytes are, their labels and global indices — nothing decoded. A step reads
/// and decodes only its own samples (`DecodedPhotos`).
///
/// - Folder: rank r of N owns the samples `r·n/N ..< (r+1)·n/N` of the split's order
///   (`ShardPartition`), one file each.
/// - Shards, training split: rank r owns whole shards, r, r+N, r+2N, … (WebDataset's split by
///   node), and opens only those; its samples come in blocks, one per shard (`blocks`), which
///   `EpochPlan` shuffles shard by shard. `rankCounts` (from the index) gives every rank's
///   number of samples, so the ranks agree on the steps of an epoch without reading each other's
///   shards.
/// - Shards, validation split: rank r owns the samples `r·n/N ..< (r+1)·n/N` as a folder does, and
///   opens the shards that hold them.
public final class PhotoShard {
    /// One tar shard of this rank: its number in the split and its samples' local indices.
    public struct Block: Sendable, Equatable {
        public let shard: Int
        public let samples: Range<Int>
    }

    struct Location {
        /// Index into `files`.
        let file: Int
        /// Where the bytes are: a whole file (length nil), or a tar member.
        let offset: Int
        let length: Int?
        /// The member's name, for messages (shards only).
        let member: String?
    }

    public let descriptor: DatasetDescriptor
    public let split: Split
    /// Samples in the whole split (or the `--train-samples` subset), over all ranks.
    public let totalCount: Int
    /// Each local sample's index in the split's order.
    public let globalIndices: [Int]
    public let labels: [Int32]
    /// The tar shards of this rank (the training split of shards); empty otherwise.
    public let blocks: [Block]
    /// Every rank's number of samples, where they do not follow from `ShardPartition`.
    public let rankCounts: [Int]?
    private let files: [String]
    private let locations: [Location]
    /// Open shard files, by index into `files` (a folder's files are opened when read).
    private let openShards: [Int: DataFile]

    public var count: Int { locations.count }

    private init(descriptor: DatasetDescriptor, split: Split, totalCount: Int, globalIndices: [Int], labels: [Int32],
                 blocks: [Block], rankCounts: [Int]?, files: [String], locations: [Location], openShards: [Int: DataFile]) {
        self.descriptor = descriptor
        self.split = split
        self.totalCount = totalCount
        self.globalIndices = globalIndices
        self.labels = labels
        self.blocks = blocks
        self.rankCounts = rankCounts
        self.files = files
        self.locations = locations
        self.openShards = openShards
    }

    /// Rank `rank`'s part of `split` of a folder (of a `--train-samples` subset of it, if given).
    public static func folder(_ folder: ImageFolder, descriptor: DatasetDescriptor, split: Split, rank: Int, ranks: Int,
                              subset: Int? = nil, seed: UInt64 = 0) throws -> PhotoShard {
        let listing = folder.listing(split)
        let chosen: [Int], positions: Range<Int>, total: Int
        if let subset {
            let choice = try TrainingSubset(totalCount: listing.count, count: subset, seed: seed)
            chosen = Array(choice.indices(rank: rank, ranks: ranks))
            positions = ShardPartition(count: subset, ranks: ranks).range(of: rank)
            total = subset
        } else {
            positions = try ownRange(total: listing.count, rank: rank, ranks: ranks, directory: folder.root)
            chosen = Array(positions)
            total = listing.count
        }
        let files = chosen.map { joinPath(folder.root, listing.paths[$0]) }
        return PhotoShard(descriptor: descriptor, split: split, totalCount: total, globalIndices: Array(positions),
                          labels: chosen.map { listing.labels[$0] }, blocks: [], rankCounts: nil, files: files,
                          locations: files.indices.map { Location(file: $0, offset: 0, length: nil, member: nil) },
                          openShards: [:])
    }

    /// Rank `rank`'s part of `split` of the shards in `directory`, described by `index`. Opens and
    /// reads the headers of its own shards only; a shard whose samples disagree with the index is
    /// refused.
    public static func shards(directory: String, index: ShardIndex, descriptor: DatasetDescriptor, split: Split,
                              rank: Int, ranks: Int, counters: IOCounters? = nil) throws -> PhotoShard {
        let shards = index.shards(split)
        let firsts = index.firstSamples(split)
        let total = firsts.last!
        let wanted: [Int]
        var keep: Range<Int>? = nil
        var rankCounts: [Int]? = nil
        if split == .train {
            rankCounts = try index.rankCounts(ranks: ranks, directory: directory)
            wanted = Array(stride(from: rank, to: shards.count, by: ranks))
        } else {
            let range = try ownRange(total: total, rank: rank, ranks: ranks, directory: directory)
            keep = range
            wanted = shards.indices.filter { firsts[$0] < range.upperBound && firsts[$0 + 1] > range.lowerBound }
        }
        var files: [String] = [], locations: [Location] = [], labels: [Int32] = [], globals: [Int] = []
        var blocks: [Block] = [], open: [Int: DataFile] = [:]
        for s in wanted {
            let path = joinPath(directory, shards[s].file)
            let file = try DataFile(path: path, counters: counters)
            let samples = try TarArchive.samples(of: file, classes: index.classes.count)
            guard samples.count == shards[s].samples else {
                throw DatasetError(path: path, .layout("holds \(samples.count) samples, but \(ShardIndex.fileName) says "
                    + "\(shards[s].samples): the shard or its index was changed; re-create them with `batchaug-dist data pack`"))
            }
            let fileIndex = files.count
            files.append(path)
            open[fileIndex] = file
            let start = locations.count
            for (j, sample) in samples.enumerated() {
                let global = firsts[s] + j
                if let keep, !keep.contains(global) { continue }
                globals.append(global)
                labels.append(Int32(sample.label))
                locations.append(Location(file: fileIndex, offset: sample.image.offset, length: sample.image.size,
                                          member: sample.image.name))
            }
            if split == .train { blocks.append(Block(shard: s, samples: start ..< locations.count)) }
        }
        return PhotoShard(descriptor: descriptor, split: split, totalCount: total, globalIndices: globals, labels: labels,
                          blocks: blocks, rankCounts: rankCounts, files: files, locations: locations, openShards: open)
    }

    /// The name of local sample `index` in messages: its file, or its shard and member.
    public func name(of index: Int) -> String {
        let location = locations[index]
        return location.member.map { files[location.file] + ": " + $0 } ?? files[location.file]
    }

    /// Reads the encoded bytes of local sample `index` into `buffer` (at most `limit` bytes: a
    /// larger file is refused before it is read).
    public func read(_ index: Int, into buffer: ByteBuffer, limit: Int, counters: IOCounters?) throws -> UnsafeRawBufferPointer {
        let location = locations[index]
        let file: DataFile
        let length: Int
        if let shard = openShards[location.file], let size = location.length {
            (file, length) = (shard, size)
        } else {
            file = try DataFile(path: files[location.file], counters: counters)
            length = file.size
        }
        guard length <= limit else { throw DatasetError(path: name(of: index), .tooLarge(bytes: length, limit: limit)) }
        buffer.reserve(length)
        let bytes = UnsafeMutableRawBufferPointer(start: buffer.base, count: length)
        try file.readExactly(at: location.offset, into: bytes)
        return UnsafeRawBufferPointer(bytes)
    }
}

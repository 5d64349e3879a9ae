/// A dataset of photographs (`--dataset folder` or `shards`) as found in its directory: the
/// description a run is planned with (classes by name, split sizes, the `--size` of its images)
/// and, for a folder, the files that are not samples. Each rank then takes its own part with
/// `shard` (a folder is listed again for it: the description keeps no list of files).
public struct PhotoDataset: Sendable {
    public let kind: DatasetKind
    public let directory: String
    public let descriptor: DatasetDescriptor
    /// Files of a folder that are not samples, relative to it (sorted).
    public let skipped: [String]
    public let validationFraction: Double?
    /// Shards: their index (nil for a folder).
    public let index: ShardIndex?

    /// Lists (folder) or reads the index of (shards) the dataset at `directory`, for images of
    /// `size`×`size` pixels. `validationFraction` takes the validation split from a folder's train/.
    public init(kind: DatasetKind, directory: String, size: Int, validationFraction: Double? = nil) throws {
        precondition(kind.isPhotos && size >= 1)
        self.kind = kind
        self.directory = directory
        self.validationFraction = validationFraction
        if kind == .folder {
            let folder = try ImageFolder(root: directory, validationFraction: validationFraction)
            descriptor = .photos(kind, classNames: folder.classes, size: size, trainCount: folder.train.count,
                                 testCount: folder.validation.count)
            skipped = folder.skipped
            index = nil
        } else {
            if validationFraction != nil {
                throw DatasetError(path: directory, .layout("shards hold their validation split as packed: --val-fraction "
                    + "applies to folders (give it to `batchaug-dist data pack` instead)"))
            }
            let index = try ShardIndex.read(directory: directory)
            guard !index.val.isEmpty else {
                throw DatasetError(path: joinPath(directory, ShardIndex.fileName), .layout(
                    "lists no validation shard: pack a folder with val/ (or pack with --val-fraction)"))
            }
            descriptor = .photos(kind, classNames: index.classes, size: size, trainCount: index.count(.train),
                                 testCount: index.count(.test))
            skipped = []
            self.index = index
        }
    }

    /// The samples of the rank that has the fewest, on `ranks` ranks (what bounds an epoch's steps):
    /// ⌊n/N⌋ for a folder; for shards, the smallest sum over a rank's shards (r, r+N, …). Throws
    /// if there are fewer training shards than ranks.
    public func smallestRankShare(ranks: Int, trainSamples: Int? = nil) throws -> Int {
        guard let index else { return (trainSamples ?? descriptor.trainCount) / ranks }
        return try index.rankCounts(ranks: ranks, directory: directory).min()!
    }

    /// Rank `rank`'s parts of the training split (of a seed-determined `--train-samples` subset of
    /// it, for folders) and of the validation split.
    public func shards(rank: Int, ranks: Int, subset: Int? = nil, seed: UInt64 = 0,
                       counters: IOCounters? = nil) throws -> (train: PhotoShard, validation: PhotoShard) {
        if kind == .folder {
            let folder = try ImageFolder(root: directory, validationFraction: validationFraction)
            guard folder.classes == descriptor.classNames else {
                throw DatasetError(path: directory, .layout("its class folders changed while the run started"))
            }
            return (try PhotoShard.folder(folder, descriptor: descriptor, split: .train, rank: rank, ranks: ranks,
                                          subset: subset, seed: seed),
                    try PhotoShard.folder(folder, descriptor: descriptor, split: .test, rank: rank, ranks: ranks))
        }
        if subset != nil {
            throw DatasetError(path: directory, .invalidRequest("--train-samples applies to folders; shards are read whole"))
        }
        let index = try ShardIndex.read(directory: directory)
        guard index == self.index else {
            throw DatasetError(path: directory, .layout("its shards.json changed while the run started"))
        }
        return (try PhotoShard.shards(directory: directory, index: index, descriptor: descriptor, split: .train,
                                      rank: rank, ranks: ranks, counters: counters),
                try PhotoShard.shards(directory: directory, index: index, descriptor: descriptor, split: .test,
                                      rank: rank, ranks: ranks, counters: counters))
    }

    /// Rank `rank`'s part of the validation split alone (what `eval` reads).
    public func validation(rank: Int, ranks: Int, counters: IOCounters? = nil) throws -> PhotoShard {
        if kind == .folder {
            return try PhotoShard.folder(try ImageFolder(root: directory, validationFraction: validationFraction),
                                         descriptor: descriptor, split: .test, rank: rank, ranks: ranks)
        }
        return try PhotoShard.shards(directory: directory, index: try ShardIndex.read(directory: directory),
                                     descriptor: descriptor, split: .test, rank: rank, ranks: ranks, counters: counters)
    }

    /// The first few files that are not samples, for a start-up note (nil if there are none).
    public var skippedNote: String? {
        guard !skipped.isEmpty else { return nil }
        let shown = skipped.prefix(5).joined(separator: ", ")
        return (skipped.count == 1 ? "1 file is not a sample (not a JPEG or PNG image by its name, or hidden): "
            : "\(skipped.count) files are not samples (not JPEG or PNG images by their names, or hidden): ")
            + shown + (skipped.count > 5 ? ", …" : "")
    }
}

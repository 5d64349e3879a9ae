import Randomness

/// A fixed, seed-determined subset of a split (`--train-samples N`): the N records a run trains on
/// when it should fit a budget, the same on every rank and in every run with the same seed.
///
/// The subset is the first N entries of a Fisher–Yates permutation of `0 ..< totalCount` keyed by a
/// seed derived for this purpose, sorted ascending: a plain set of records, whose visiting order is
/// then decided epoch by epoch by `EpochPlan` exactly as for a whole split. Rank r of R owns
/// subset positions `r·N/R ..< (r+1)·N/R` (`ShardPartition` over N), so the shards split the
/// subset the way they split a whole split.
public struct TrainingSubset: Sendable, Equatable {
    /// Records in the whole split.
    public let totalCount: Int
    /// Records in the subset, N.
    public let count: Int
    public let seed: UInt64

    public init(totalCount: Int, count: Int, seed: UInt64) throws {
        guard count >= 1, count <= totalCount else {
            throw DatasetError(path: "training subset", .invalidRequest(
                "a subset of \(count) records does not fit a split of \(totalCount)"))
        }
        self.totalCount = totalCount
        self.count = count
        self.seed = seed
    }

    /// The subset's records as indices into the whole split, ascending.
    public var indices: [Int] {
        var order = Array(0 ..< totalCount)
        var random = CounterRNG(seed: derivedSeed(seed, purpose: .trainingSubset), stream: (0, 0, 0))
        // A partial Fisher–Yates shuffle: position i takes a uniform pick among the records not yet taken.
        for i in 0 ..< count {
            let j = i + random.below(totalCount - i)
            order.swapAt(i, j)
        }
        return order[..<count].sorted()
    }

    /// The split indices rank `rank` of `ranks` owns, ascending.
    public func indices(rank: Int, ranks: Int) -> ArraySlice<Int> {
        indices[ShardPartition(count: count, ranks: ranks).range(of: rank)]
    }
}

extension ImageShard {
    /// Rank `rank`'s part of a `TrainingSubset` of `split`: its `globalRange` and `totalCount` are
    /// positions in the subset (so `EpochPlan` and the sharding arithmetic apply unchanged). The
    /// whole split is read (subset records are scattered through the files) and only this rank's
    /// records are kept.
    public static func load(_ kind: DatasetKind, directory: String?, split: Split, subsetOf size: Int, seed: UInt64,
                            rank: Int, ranks: Int, counters: IOCounters? = nil) throws -> ImageShard {
        let whole = try load(kind, directory: directory, split: split, counters: counters)
        let subset = try TrainingSubset(totalCount: whole.count, count: size, seed: seed)
        let chosen = subset.indices(rank: rank, ranks: ranks)
        let recordBytes = whole.recordBytes
        var pixels = [UInt8](repeating: 0, count: chosen.count * recordBytes)
        pixels.withUnsafeMutableBufferPointer { target in
            for (position, index) in chosen.enumerated() {
                let source = whole.pixels(of: index)
                (target.baseAddress! + position * recordBytes).update(from: source.baseAddress!, count: recordBytes)
            }
        }
        return ImageShard(descriptor: whole.descriptor, split: split,
                          globalRange: ShardPartition(count: size, ranks: ranks).range(of: rank), totalCount: size,
                          pixels: pixels, labels: chosen.map { whole.labels[$0] })
    }
}

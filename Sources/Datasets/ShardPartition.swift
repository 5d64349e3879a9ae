import Partitions

/// Which records each rank owns: rank r of N owns `r·n/N ..< (r+1)·n/N` of a split of n records
/// (`EvenPartition`). The shards are contiguous (so a rank reads one run of bytes per file),
/// disjoint, cover the split, and their sizes differ by at most one.
public struct ShardPartition: Sendable, Equatable {
    private let partition: EvenPartition

    public init(count: Int, ranks: Int) { partition = EvenPartition(count: count, parts: ranks) }

    /// Records in the whole split.
    public var count: Int { partition.count }
    /// The number of ranks.
    public var ranks: Int { partition.parts }

    /// The global indices owned by `rank`.
    public func range(of rank: Int) -> Range<Int> { partition.range(of: rank) }

    /// The size of every rank's shard, in rank order.
    public var sizes: [Int] { partition.sizes }

    /// The size of the smallest shard, ⌊n/N⌋: what bounds the steps of an epoch.
    public var smallestShard: Int { partition.smallest }
}

/// Which records each rank owns: rank r of N owns `r·n/N ..< (r+1)·n/N` of a split of n records.
/// The shards are contiguous (so a rank reads one run of bytes per file), disjoint, cover the
/// split, and their sizes differ by at most one — the same arithmetic as `RingPartition`.
public struct ShardPartition: Sendable, Equatable {
    /// Records in the whole split.
    public let count: Int
    /// The number of ranks.
    public let ranks: Int

    public init(count: Int, ranks: Int) {
        precondition(count >= 0 && ranks > 0)
        self.count = count
        self.ranks = ranks
    }

    /// The global indices owned by `rank`.
    public func range(of rank: Int) -> Range<Int> {
        precondition(rank >= 0 && rank < ranks, "rank \(rank) is not in 0..<\(ranks)")
        return (rank * count / ranks) ..< ((rank + 1) * count / ranks)
    }

    /// The size of every rank's shard, in rank order.
    public var sizes: [Int] { (0 ..< ranks).map { range(of: $0).count } }

    /// The size of the smallest shard, ⌊n/N⌋: what bounds the steps of an epoch.
    public var smallestShard: Int { count / ranks }
}

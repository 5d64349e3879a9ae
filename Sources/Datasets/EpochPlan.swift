import Randomness

/// The order in which one rank visits its shard, epoch by epoch: pure arithmetic on
/// (split size, ranks, rank, per-rank batch, seed, epoch), so it needs no communication, is
/// testable without MPI, and a checkpoint restores it from a few integers.
///
/// **Remainder policy.** Every rank takes `stepsPerEpoch = ⌊⌊n/N⌋ / b⌋` steps per epoch, computed
/// from the smallest shard, so all ranks agree without talking (the all-reduce needs every rank at
/// every step). Each epoch a rank visits the first `stepsPerEpoch·b` entries of a fresh random
/// permutation of its shard; the rest (fewer than b records, plus one for the larger shards) are
/// left out of that epoch only — the permutation changes every epoch, so over epochs every record
/// is visited equally often in expectation. Nothing is padded or repeated, so no record weighs
/// more than another within an epoch (PyTorch's `DistributedSampler` pads instead; `drop_last`
/// is the policy here).
///
/// **Permutation.** A Fisher–Yates shuffle of `0 ..< shardSize` driven by `CounterRNG` keyed by a
/// seed derived from `seed` for this purpose, on the stream (epoch, rank, 0).
///
/// **Tar shards** (`init(blocks:…)`): a rank's samples come in blocks, one per shard it owns. Each
/// epoch it visits its shards in a fresh order (a Fisher–Yates shuffle keyed for `shardOrder`, on
/// the stream (epoch, rank, 0)), and the samples of each shard in a fresh order — the permutation
/// above with the shard's number in place of the rank, on (epoch, shard, 0). A rank owning exactly
/// one shard that holds exactly its folder shard (a pack with `--shards N` on N ranks) thus visits
/// the samples in the folder's order. The steps per epoch come from the smallest rank's count.
public struct EpochPlan: Sendable, Equatable {
    public let partition: ShardPartition
    public let rank: Int
    /// Samples per step on each rank (b).
    public let batchSize: Int
    public let seed: UInt64
    /// This rank's tar shards (empty: its samples are the contiguous `shardRange`).
    public let blocks: [PhotoShard.Block]
    /// Every rank's number of samples (with blocks).
    let rankCounts: [Int]

    /// Throws if the smallest shard cannot fill one batch (then no rank could take a step).
    public init(totalCount: Int, ranks: Int, rank: Int, batchSize: Int, seed: UInt64) throws {
        guard ranks >= 1, rank >= 0, rank < ranks else {
            throw DatasetError(path: "epoch plan", .invalidRequest("rank \(rank) is not in 0..<\(ranks)"))
        }
        guard batchSize >= 1 else {
            throw DatasetError(path: "epoch plan", .invalidRequest("the per-rank batch must be at least 1, got \(batchSize)"))
        }
        partition = ShardPartition(count: totalCount, ranks: ranks)
        guard partition.smallestShard >= batchSize else {
            throw DatasetError(path: "epoch plan", .invalidRequest(
                "a per-rank batch of \(batchSize) does not fit the smallest shard "
                    + "(\(partition.smallestShard) records: \(totalCount) over \(ranks) ranks)"))
        }
        self.rank = rank
        self.batchSize = batchSize
        self.seed = seed
        blocks = []
        rankCounts = []
    }

    /// The plan of a rank whose samples are `blocks` (tar shards; local indices), the ranks owning
    /// `rankCounts` samples each.
    public init(blocks: [PhotoShard.Block], rankCounts: [Int], rank: Int, batchSize: Int, seed: UInt64) throws {
        guard rankCounts.indices.contains(rank), blocks.reduce(0, { $0 + $1.samples.count }) == rankCounts[rank] else {
            throw DatasetError(path: "epoch plan", .invalidRequest("rank \(rank) does not own \(rankCounts) samples"))
        }
        guard batchSize >= 1, rankCounts.min()! >= batchSize else {
            throw DatasetError(path: "epoch plan", .invalidRequest(
                "a per-rank batch of \(batchSize) does not fit the smallest rank's \(rankCounts.min()!) samples"))
        }
        partition = ShardPartition(count: rankCounts.reduce(0, +), ranks: rankCounts.count)
        self.rank = rank
        self.batchSize = batchSize
        self.seed = seed
        self.blocks = blocks
        self.rankCounts = rankCounts
    }

    /// The plan of a rank's part of a split of photographs.
    public init(photos: PhotoShard, ranks: Int, rank: Int, batchSize: Int, seed: UInt64) throws {
        if let counts = photos.rankCounts {
            try self.init(blocks: photos.blocks, rankCounts: counts, rank: rank, batchSize: batchSize, seed: seed)
        } else {
            try self.init(totalCount: photos.totalCount, ranks: ranks, rank: rank, batchSize: batchSize, seed: seed)
            precondition(photos.globalIndices == Array(shardRange), "the photographs are not rank \(rank) of \(ranks)")
        }
    }

    /// This plan with `batchSize` samples per step.
    public func with(batchSize: Int) throws -> EpochPlan {
        blocks.isEmpty && rankCounts.isEmpty
            ? try EpochPlan(totalCount: partition.count, ranks: partition.ranks, rank: rank, batchSize: batchSize, seed: seed)
            : try EpochPlan(blocks: blocks, rankCounts: rankCounts, rank: rank, batchSize: batchSize, seed: seed)
    }

    /// The plan for the shard a loader produced.
    public init(shard: ImageShard, ranks: Int, rank: Int, batchSize: Int, seed: UInt64) throws {
        try self.init(totalCount: shard.totalCount, ranks: ranks, rank: rank, batchSize: batchSize, seed: seed)
        precondition(partition.range(of: rank) == shard.globalRange, "the shard is not rank \(rank) of \(ranks)")
    }

    /// The global indices of this rank's shard (without blocks).
    public var shardRange: Range<Int> { partition.range(of: rank) }
    public var shardCount: Int { rankCounts.isEmpty ? shardRange.count : rankCounts[rank] }

    /// Steps every rank takes per epoch (the same on all ranks).
    public var stepsPerEpoch: Int { (rankCounts.isEmpty ? partition.smallestShard : rankCounts.min()!) / batchSize }

    /// Records of this shard visited per epoch.
    public var samplesPerEpoch: Int { stepsPerEpoch * batchSize }

    /// Writes this epoch's permutation of `0 ..< shardCount` (local indices) into `order`,
    /// which must hold `shardCount` elements. No allocation.
    public func fillOrder(epoch: Int, into order: UnsafeMutableBufferPointer<Int>) {
        precondition(order.count == shardCount, "the order buffer must hold the \(shardCount) records of the shard")
        guard !rankCounts.isEmpty else {
            Self.permutation(into: order, key: derivedSeed(seed, purpose: .epochOrder), epoch: epoch, stream: rank)
            return
        }
        // The shards in this epoch's order, then the samples of each in theirs.
        var shards = [Int](blocks.indices)
        shards.withUnsafeMutableBufferPointer {
            Self.permutation(into: $0, key: derivedSeed(seed, purpose: .shardOrder), epoch: epoch, stream: rank)
        }
        var next = 0
        for b in shards {
            let block = blocks[b]
            let part = UnsafeMutableBufferPointer(rebasing: order[next ..< next + block.samples.count])
            Self.permutation(into: part, key: derivedSeed(seed, purpose: .epochOrder), epoch: epoch, stream: block.shard)
            for i in part.indices { part[i] += block.samples.lowerBound }
            next += block.samples.count
        }
    }

    /// A Fisher–Yates permutation of `0 ..< order.count` driven by `CounterRNG(key, (epoch, stream, 0))`.
    static func permutation(into order: UnsafeMutableBufferPointer<Int>, key: UInt64, epoch: Int, stream: Int) {
        for i in 0 ..< order.count { order[i] = i }
        var random = CounterRNG(seed: key, stream: (UInt32(truncatingIfNeeded: epoch), UInt32(truncatingIfNeeded: stream), 0))
        var i = order.count - 1
        while i > 0 {
            let j = random.below(i + 1)
            order.swapAt(i, j)
            i -= 1
        }
    }

    /// This epoch's permutation of the shard's local indices.
    public func order(epoch: Int) -> [Int] {
        var order = [Int](repeating: 0, count: shardCount)
        order.withUnsafeMutableBufferPointer { fillOrder(epoch: epoch, into: $0) }
        return order
    }
}

/// Hands out one rank's samples step by step: holds the current epoch's permutation in a buffer
/// allocated once, so `begin(epoch:)` costs one shuffle of the shard and `samples(step:)` nothing.
public final class EpochSampler {
    public let plan: EpochPlan
    /// The epoch whose order is loaded (nil before the first `begin`).
    public private(set) var epoch: Int?
    private let order: UnsafeMutableBufferPointer<Int>

    public init(plan: EpochPlan) {
        self.plan = plan
        order = .allocate(capacity: plan.shardCount)
        order.initialize(repeating: 0)
    }

    deinit { order.deallocate() }

    /// Loads the order of `epoch`.
    public func begin(epoch: Int) {
        plan.fillOrder(epoch: epoch, into: order)
        self.epoch = epoch
    }

    /// The local indices (into the shard) of the samples of `step` of the current epoch: b of
    /// them, valid until the next `begin`.
    public func samples(step: Int) -> UnsafeBufferPointer<Int> {
        precondition(epoch != nil, "call begin(epoch:) first")
        precondition(step >= 0 && step < plan.stepsPerEpoch, "step \(step) is not in 0..<\(plan.stepsPerEpoch)")
        let start = step * plan.batchSize
        return UnsafeBufferPointer(rebasing: order[start ..< start + plan.batchSize])
    }
}

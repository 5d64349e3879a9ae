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
public struct EpochPlan: Sendable, Equatable {
    public let partition: ShardPartition
    public let rank: Int
    /// Samples per step on each rank (b).
    public let batchSize: Int
    public let seed: UInt64

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
    }

    /// The plan for the shard a loader produced.
    public init(shard: ImageShard, ranks: Int, rank: Int, batchSize: Int, seed: UInt64) throws {
        try self.init(totalCount: shard.totalCount, ranks: ranks, rank: rank, batchSize: batchSize, seed: seed)
        precondition(partition.range(of: rank) == shard.globalRange, "the shard is not rank \(rank) of \(ranks)")
    }

    /// The global indices of this rank's shard.
    public var shardRange: Range<Int> { partition.range(of: rank) }
    public var shardCount: Int { shardRange.count }

    /// Steps every rank takes per epoch (the same on all ranks).
    public var stepsPerEpoch: Int { partition.smallestShard / batchSize }

    /// Records of this shard visited per epoch.
    public var samplesPerEpoch: Int { stepsPerEpoch * batchSize }

    /// Writes this epoch's permutation of `0 ..< shardCount` (local indices) into `order`,
    /// which must hold `shardCount` elements. No allocation.
    public func fillOrder(epoch: Int, into order: UnsafeMutableBufferPointer<Int>) {
        precondition(order.count == shardCount, "the order buffer must hold the \(shardCount) records of the shard")
        for i in 0 ..< order.count { order[i] = i }
        var random = CounterRNG(seed: derivedSeed(seed, purpose: .epochOrder),
                                stream: (UInt32(truncatingIfNeeded: epoch), UInt32(truncatingIfNeeded: rank), 0))
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

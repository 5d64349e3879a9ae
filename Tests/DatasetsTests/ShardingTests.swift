import Datasets
import Testing

@Suite("sharding and epoch orders")
struct ShardingTests {
    @Test("shards are disjoint, cover the split and differ in size by at most one",
          arguments: [(10, 1), (10, 3), (50_000, 7), (60_000, 8), (5, 5), (0, 4), (1001, 16)])
    func partition(count: Int, ranks: Int) {
        let partition = ShardPartition(count: count, ranks: ranks)
        var owner = [Int](repeating: -1, count: count)
        for rank in 0 ..< ranks {
            for index in partition.range(of: rank) {
                #expect(owner[index] == -1, "index \(index) owned twice")
                owner[index] = rank
            }
        }
        #expect(!owner.contains(-1), "every record owned")
        #expect(owner == owner.sorted(), "contiguous, in rank order")
        let sizes = partition.sizes
        #expect(sizes.reduce(0, +) == count)
        #expect(sizes.max()! - sizes.min()! <= 1)
        #expect(partition.smallestShard == sizes.min()!)
    }

    @Test("steps per epoch are equal on every rank; each rank visits distinct records of its own shard",
          arguments: [(1000, 3, 32), (50_000, 8, 128), (103, 4, 5), (10, 10, 1)])
    func plan(count: Int, ranks: Int, batch: Int) throws {
        let plans = try (0 ..< ranks).map { try EpochPlan(totalCount: count, ranks: ranks, rank: $0, batchSize: batch, seed: 9) }
        let steps = plans[0].stepsPerEpoch
        #expect(steps == (count / ranks) / batch)
        #expect(steps >= 1)
        for plan in plans {
            #expect(plan.stepsPerEpoch == steps)
            let sampler = EpochSampler(plan: plan)
            sampler.begin(epoch: 3)
            var visited = Set<Int>()
            for step in 0 ..< steps {
                let samples = sampler.samples(step: step)
                #expect(samples.count == batch)
                for local in samples {
                    #expect(local >= 0 && local < plan.shardCount)
                    #expect(visited.insert(local).inserted, "record \(local) visited twice in one epoch")
                }
            }
            // Left out this epoch: fewer than a batch, plus one for the larger shards.
            #expect(plan.shardCount - visited.count < batch + 1)
        }
    }

    @Test("an epoch's order is a permutation, reproducible, new every epoch, and different between ranks")
    func orders() throws {
        let plan = try EpochPlan(totalCount: 10_000, ranks: 2, rank: 1, batchSize: 100, seed: 42)
        let first = plan.order(epoch: 0)
        #expect(first.sorted() == Array(0 ..< 5000))
        #expect(first != Array(0 ..< 5000))
        #expect(plan.order(epoch: 0) == first, "the same (seed, epoch, rank) gives the same order")
        #expect(try EpochPlan(totalCount: 10_000, ranks: 2, rank: 1, batchSize: 7, seed: 42).order(epoch: 0) == first,
                "the order does not depend on the batch size")
        let orders = (0 ..< 5).map { plan.order(epoch: $0) }
        #expect(Set(orders).count == 5, "every epoch has its own order")
        #expect(try EpochPlan(totalCount: 10_000, ranks: 2, rank: 1, batchSize: 100, seed: 43).order(epoch: 0) != first)
        #expect(try EpochPlan(totalCount: 10_000, ranks: 2, rank: 0, batchSize: 100, seed: 42).order(epoch: 0) != first)

        // Over many epochs the records left out of one epoch are visited in others.
        let small = try EpochPlan(totalCount: 103, ranks: 1, rank: 0, batchSize: 10, seed: 1)
        var visits = [Int](repeating: 0, count: 103)
        for epoch in 0 ..< 200 { for local in small.order(epoch: epoch).prefix(small.samplesPerEpoch) { visits[local] += 1 } }
        #expect(visits.min()! > 150 && visits.max()! < 200, "\(visits.min()!)…\(visits.max()!)")

        // The sampler hands out the plan's order, step by step.
        let sampler = EpochSampler(plan: plan)
        sampler.begin(epoch: 4)
        #expect(Array(sampler.samples(step: 2)) == Array(orders[4][200 ..< 300]))
        #expect(sampler.epoch == 4)
    }

    @Test("a batch larger than the smallest shard, a bad rank or batch are errors naming the numbers")
    func planErrors() {
        #expect(throws: DatasetError.self) { try EpochPlan(totalCount: 100, ranks: 8, rank: 0, batchSize: 13, seed: 0) }
        do {
            _ = try EpochPlan(totalCount: 100, ranks: 8, rank: 0, batchSize: 13, seed: 0)
        } catch {
            #expect("\(error)".contains("a per-rank batch of 13 does not fit the smallest shard (12 records: 100 over 8 ranks)"))
        }
        #expect(throws: DatasetError.self) { try EpochPlan(totalCount: 100, ranks: 2, rank: 2, batchSize: 1, seed: 0) }
        #expect(throws: DatasetError.self) { try EpochPlan(totalCount: 100, ranks: 2, rank: 0, batchSize: 0, seed: 0) }
    }
}

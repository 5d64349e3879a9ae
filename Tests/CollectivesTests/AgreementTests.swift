import Collectives
import Testing
import TestSupport

/// The collectives over N in-process ranks (threads): agreement on failures, the replica check,
/// and the ring's order of additions reproduced in one process.
@Suite("agreement, replica checks and ring order over in-process ranks")
struct AgreementTests {
    struct Problem: Error, CustomStringConvertible { let description: String }

    /// What `body` threw, as text, or nil.
    static func failure(_ body: () throws -> Any?) -> String? {
        do { _ = try body(); return nil } catch { return "\(error)" }
    }

    @Test("the primitive collectives agree on every rank", arguments: [1, 2, 3, 4])
    func primitives(ranks: Int) throws {
        let results = try InProcessNetwork(size: ranks).runCommunicators { world in
            var root = [Int32](repeating: world.rank == 1 % ranks ? 7 : 0, count: 3)
            try world.broadcast(&root, root: 1 % ranks)
            let sum = try world.allreduceSum(Double(world.rank + 1))
            let maximum = try world.allreduceMax(Int64(world.rank * 10))
            let gathered = try world.allgather("rank \(world.rank)")
            var floats = [Float](repeating: Float(world.rank), count: 5)
            try world.allreduceSum(&floats, algorithm: .mpi)
            try world.barrier()
            return (root, sum, maximum, gathered, floats)
        }
        for result in results {
            #expect(result.0 == [7, 7, 7])
            #expect(result.1 == Double(ranks * (ranks + 1) / 2))
            #expect(result.2 == Int64((ranks - 1) * 10))
            #expect(result.3 == (0 ..< ranks).map { "rank \($0)" })
            #expect(result.4 == [Float](repeating: Float(ranks * (ranks - 1) / 2), count: 5))
        }
    }

    @Test("collectively: one rank's failure stops every rank, naming that rank")
    func oneRankFails() throws {
        let failures = try InProcessNetwork(size: 3).runCommunicators { world in
            Self.failure {
                try world.collectively { () throws -> Int in
                    if world.rank >= 1 { throw Problem(description: "disk \(world.rank) full") }
                    return world.rank
                }
            }
        }
        #expect(failures == Array(repeating: "rank 1: disk 1 full", count: 3), "the lowest failing rank's message, with its rank")
    }

    @Test("collectively: a failure every rank shares is not attributed to a rank; nothing failed, every rank goes on")
    func everyRankFails() throws {
        let shared = try InProcessNetwork(size: 3).runCommunicators { world in
            Self.failure { try world.collectively { () throws -> Void in throw Problem(description: "--copies must be at least 1") } }
        }
        #expect(shared == Array(repeating: "--copies must be at least 1", count: 3))
        let fine = try InProcessNetwork(size: 3).runCommunicators { world in try world.collectively { world.rank * 2 } }
        #expect(fine == [0, 2, 4])
    }

    @Test("collectivelyOnRoot: only rank 0 works, its failure stops every rank without a rank prefix")
    func onRoot() throws {
        let failures = try InProcessNetwork(size: 2).runCommunicators { world in
            Self.failure { try world.collectivelyOnRoot { () throws -> Int in throw Problem(description: "--resume: no checkpoint") } }
        }
        #expect(failures == ["--resume: no checkpoint", "--resume: no checkpoint"])
        let values = try InProcessNetwork(size: 2).runCommunicators { world in try world.collectivelyOnRoot { 42 } }
        #expect(values == [42, nil])
    }

    @Test("the replica check finds the first rank whose bytes differ, on every rank")
    func replicas() throws {
        let verdicts = try InProcessNetwork(size: 4).runCommunicators { world in
            var values: [Float] = [1, 2, 3]
            if world.rank >= 2 { values[1] = 2.0000002 }
            let differing = try values.withUnsafeBytes { try world.firstMismatch(among: $0) }
            values[1] = 2
            let same = try values.withUnsafeBytes { try world.firstMismatch(among: $0) }
            return (differing?.rank, same == nil)
        }
        #expect(verdicts.map(\.0) == [2, 2, 2, 2])
        #expect(verdicts.allSatisfy { $0.1 })
    }

    @Test("sumInRingOrder gives the ring all-reduce's result bit for bit", arguments: [1, 2, 3, 4, 5])
    func ringOrder(ranks: Int) throws {
        for count in [0, 1, 3, 7, 1000, 4099] {
            let values = (0 ..< ranks).map { rank in (0 ..< count).map { RingAllreduceTests.value(rank: rank, index: $0) } }
            let ring = try InProcessNetwork(size: ranks).runCommunicators { world in
                var buffer = values[world.rank]
                try world.allreduceSum(&buffer, algorithm: .ring)
                return buffer
            }
            var local = [Float](repeating: .nan, count: count)
            let buffers = values.map { $0.withUnsafeBufferPointer { UnsafeBufferPointer(start: UnsafeMutablePointer(mutating: $0.baseAddress), count: $0.count) } }
            withExtendedLifetime(values) {
                local.withUnsafeMutableBufferPointer { RingAllreduce.sumInRingOrder(buffers, into: $0) }
            }
            #expect(bitDifference(local, ring[0]) == nil, "ranks \(ranks), count \(count)")
            if ranks >= 3 && count >= 1000 {
                // The order matters: a plain sum in rank order differs somewhere.
                let plain = (0 ..< count).map { i in values.dropFirst().reduce(values[0][i]) { $0 + $1[i] } }
                #expect(plain.map(\.bitPattern) != local.map(\.bitPattern), "ranks \(ranks): the test values must tell orders apart")
            }
        }
    }
}

import Foundation
import Testing
import TestSupport

/// `bench allreduce --verify` under real `mpirun`, on odd and even counts, for 1 to 4 ranks.
@Suite("bench allreduce under mpirun", .serialized)
struct AllreduceCLITests {
    static let counts = [0, 1, 2, 3, 5, 1000, (1 << 20) + 3]

    @Test("--verify passes for both algorithms", arguments: [1, 2, 3, 4])
    func verifies(ranks: Int) throws {
        let outcome = try runBatchAugDist(ranks: ranks, [
            "bench", "allreduce", "--algo", "both", "--verify", "--iters", "2", "--json",
            "--counts", Self.counts.map(String.init).joined(separator: ","),
        ])
        #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
        let records = try outcome.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
        }
        // One line per count and algorithm, printed once (by rank 0) however many ranks run.
        #expect(records.count == Self.counts.count * 2, "\(outcome)")
        for record in records {
            #expect(record["op"] as? String == "allreduce")
            #expect(record["ranks"] as? Int == ranks)
            #expect(record["verified"] as? Bool == true)
            #expect(["ring", "mpi"].contains(record["algo"] as? String))
            #expect((record["seconds"] as? Double ?? -1) >= 0)
            #expect(record["busbw_gbps"] is Double)
        }
        #expect(Set(records.compactMap { $0["bytes"] as? Int }) == Set(Self.counts.map { $0 * 4 }))
    }

    @Test("a wrong result on one rank fails every rank, naming the size and algorithm")
    func mismatchIsReported() throws {
        let outcome = try runBatchAugDist(ranks: 3, [
            "bench", "allreduce", "--algo", "ring", "--verify", "--iters", "1", "--counts", "1000",
            "--debug-corrupt-rank", "2",
        ], timeout: 60)
        #expect(outcome.status != 0 && !outcome.timedOut, "\(outcome)")
        #expect(outcome.stderr.contains("algo ring, 1000 floats"), "\(outcome)")
        #expect(outcome.stderr.contains("rank 2"), "\(outcome)")
        #expect(outcome.seconds < 30)
    }

    @Test("the readable table has both algorithms and the ring/mpi ratio")
    func table() throws {
        let outcome = try runBatchAugDist(ranks: 2, ["bench", "allreduce", "--sizes", "4K,64K", "--iters", "3"])
        #expect(outcome.status == 0, "\(outcome)")
        let lines = outcome.stdout.split(separator: "\n")
        #expect(lines.contains { $0.contains("busbw GB/s") && $0.contains("ring/mpi") }, "\(outcome)")
        #expect(lines.filter { $0.hasPrefix("64K") && $0.contains("ring") && $0.hasSuffix("x") }.count == 1, "\(outcome)")
        #expect(lines.filter { $0.hasPrefix("4K") && $0.contains(" mpi ") }.count == 1, "\(outcome)")
    }
}

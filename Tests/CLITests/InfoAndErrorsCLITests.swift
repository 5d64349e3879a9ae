import Foundation
import Testing
import TestSupport

@Suite("info and argument errors", .serialized)
struct InfoAndErrorsCLITests {
    @Test("info without mpirun is a one-rank job")
    func infoAlone() throws {
        let outcome = try runBatchAugDist(ranks: nil, ["info"], timeout: 60)
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.stdout.contains("ranks      1"), "\(outcome)")
        #expect(outcome.stdout.contains("Open MPI"), "\(outcome)")
        #expect(outcome.stdout.contains("OpenBLAS"), "\(outcome)")
    }

    @Test("info under mpirun lists every rank once", arguments: [2, 3])
    func infoUnderMPI(ranks: Int) throws {
        let outcome = try runBatchAugDist(ranks: ranks, ["info"], timeout: 60)
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.stdout.components(separatedBy: "batchaug-dist 0.").count == 2, "printed once: \(outcome)")
        #expect(outcome.stdout.contains("ranks      \(ranks)"), "\(outcome)")
        for rank in 0 ..< ranks { #expect(outcome.stdout.contains("rank \(rank)   host"), "\(outcome)") }
        #expect(outcome.stdout.contains("OpenBLAS threads 1"), "\(outcome)")
    }

    @Test("a wrong flag or value fails fast and clearly", arguments: [nil, 2] as [Int?])
    func wrongFlags(ranks: Int?) throws {
        let cases: [([String], String)] = [
            (["bench", "allreduce", "--no-such-flag"], "--no-such-flag"),
            (["bench", "allreduce", "--sizes", "4X"], "--sizes"),
            (["bench", "allreduce", "--sizes", "6"], "not a whole number of 4-byte floats"),
            (["bench", "allreduce", "--algo", "tree"], "--algo"),
            (["bench", "allreduce", "--iters", "0"], "--iters must be at least 1"),
            (["no-such-command"], "no-such-command"),
        ]
        for (arguments, expected) in cases {
            let outcome = try runBatchAugDist(ranks: ranks, arguments, timeout: 30)
            #expect(outcome.status != 0 && !outcome.timedOut, "\(arguments): \(outcome)")
            #expect(outcome.stderr.contains(expected), "\(arguments): \(outcome)")
            #expect(outcome.stderr.contains("Usage") || outcome.stderr.contains("Help"), "\(arguments): \(outcome)")
            #expect(outcome.seconds < 20, "\(arguments) took \(outcome.seconds) s")
        }
    }
}

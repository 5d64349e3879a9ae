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

    static let wrongFlags: [([String], String)] = [
        (["bench", "allreduce", "--no-such-flag"], "--no-such-flag"),
        (["bench", "allreduce", "--sizes", "4X"], "--sizes"),
        (["bench", "allreduce", "--sizes", "6"], "not a whole number of 4-byte floats"),
        (["bench", "allreduce", "--algo", "tree"], "--algo"),
        (["bench", "allreduce", "--iters", "0"], "--iters must be at least 1"),
        (["no-such-command"], "no-such-command"),
        (["train", "--seed", "-1"], "--seed"),
    ]

    @Test("a wrong flag or value fails fast and clearly")
    func wrongFlagsAlone() throws {
        for (arguments, expected) in Self.wrongFlags {
            let outcome = try runBatchAugDist(ranks: nil, arguments, timeout: 30)
            #expect(outcome.status != 0 && !outcome.timedOut, "\(arguments): \(outcome)")
            #expect(outcome.stderr.contains(expected), "\(arguments): \(outcome)")
            #expect(outcome.stderr.contains("Usage") || outcome.stderr.contains("Help"), "\(arguments): \(outcome)")
            #expect(outcome.stdout.isEmpty, "\(arguments): \(outcome)")
        }
    }

    /// Under mpirun each rank's output goes to its own files, so the test sees what each rank
    /// wrote, whole, whatever mpirun interleaves on its own streams.
    @Test("under mpirun a wrong flag or value is reported once, whole, by rank 0, and the job fails")
    func wrongFlagsUnderMPI() throws {
        for (arguments, expected) in Self.wrongFlags {
            let alone = try runBatchAugDist(ranks: nil, arguments, timeout: 30)
            // No hang: the bound is generous for a loaded machine; a hang runs into it.
            let (outcome, ranks) = try runBatchAugDistPerRank(ranks: 2, arguments, timeout: 60)
            #expect(outcome.status != 0 && !outcome.timedOut, "\(arguments): \(outcome)")
            #expect(ranks[0].stderr.contains(expected), "\(arguments): \(ranks)")
            #expect(ranks[0].stderr == alone.stderr, "\(arguments): rank 0 writes the whole message, as one process does")
            #expect(ranks[1].stderr.isEmpty && ranks[1].stdout.isEmpty && ranks[0].stdout.isEmpty, "\(arguments): \(ranks)")
            // mpirun reports the ranks' exit status: every rank failed with the usage status, none was killed.
            #expect(!outcome.stderr.contains("signal"), "\(arguments): \(outcome)")
        }
    }

    @Test("--help under mpirun is printed once and the job succeeds")
    func helpUnderMPI() throws {
        let (outcome, ranks) = try runBatchAugDistPerRank(ranks: 2, ["train", "--help"], timeout: 30)
        #expect(outcome.status == 0, "\(outcome)")
        #expect(ranks[0].stdout.contains("USAGE: batchaug-dist train") && ranks[1].stdout.isEmpty, "\(ranks)")
    }
}

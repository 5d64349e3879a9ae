import Foundation
import Testing
import TestSupport

/// `bench scaling` under mpirun: a one-rank phase and an all-ranks phase, in one run.
@Suite("bench scaling", .serialized)
struct ScalingCLITests {
    @Test("one JSON object per phase, with the speedup over one rank", arguments: [1, 3])
    func phases(ranks: Int) throws {
        let outcome = try runBatchAugDist(ranks: ranks, [
            "bench", "scaling", "--model", "mlp", "--batch-size", "32", "--copies", "2", "--steps", "3", "--warmup", "1",
            "--json",
        ], timeout: 90)
        #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
        let records = try outcome.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
        }
        #expect(records.map { $0["ranks"] as? Int } == (ranks == 1 ? [1] : [1, ranks]), "\(outcome)")
        for record in records {
            let ranksHere = record["ranks"] as? Int ?? 0
            let step = record["step_seconds"] as? Double ?? 0
            #expect(step > 0)
            // images/s = images per step over all ranks / median step time.
            let images = Double(ranksHere * 32 * 2)
            #expect(abs((record["images_per_second"] as? Double ?? 0) - images / step) < 1e-6 * images / step)
            #expect((record["allreduce_seconds"] as? Double ?? -1) >= 0 && (record["wait_seconds"] as? Double ?? -1) >= 0)
            #expect(record["gradient_bytes"] as? Int == 1_843_210 * 4, "the MLP's parameters, as Floats")
            #expect(record["speedup"] is Double)
        }
        if ranks > 1 {
            #expect((records[1]["allreduce_seconds"] as? Double ?? 0) > 0, "several ranks all-reduce")
        }
    }

    @Test("a bad option or dataset is refused on every rank")
    func refused() throws {
        let missing = try runBatchAugDist(ranks: 2, ["bench", "scaling", "--dataset", "cifar10", "--data-dir", "/nonexistent",
                                                     "--steps", "1"], timeout: 60)
        #expect(missing.status != 0 && !missing.timedOut && missing.stderr.contains("/nonexistent/data_batch_1.bin"),
                "\(missing)")
        let ghost = try runBatchAugDist(ranks: 2, ["bench", "scaling", "--model", "mlp", "--ghost-batch-size", "48",
                                                   "--steps", "1"], timeout: 60)
        #expect(ghost.status != 0 && !ghost.timedOut && ghost.stderr.contains("--ghost-batch-size 48"), "\(ghost)")
    }
}

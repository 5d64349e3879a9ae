import Foundation
import Testing
import TestSupport

/// The gradient all-reduce in buckets (`--bucket-size`), started during backward on a thread of
/// its own (`--overlap on`, or `auto` where it pays), under mpirun: the same training as the same
/// buckets all-reduced after backward, and at 2 ranks as one all-reduce after backward.
@Suite("train with the all-reduce overlapped with backward", .serialized)
struct OverlapCLITests {
    /// The MLP (about 0.4 MB of gradient) in buckets of 16 KiB: dozens of them, so that buckets are
    /// in flight while backward still writes others.
    static let quick = ["train", "--model", "mlp", "--batch-size", "96", "--max-steps", "6", "--log-every", "3",
                        "--dropout", "0.2", "--copies", "2", "--ghost-batch-size", "32", "--eval-every", "0"]

    /// Each rank's parameter checksum, from `--debug-rank-checksums`.
    func checksums(_ outcome: ProcessOutcome) -> [String] {
        outcome.stdout.split(separator: "\n").filter { $0.hasPrefix("rank ") && $0.contains("checksum") }
            .map { $0.split(separator: " ").last.map(String.init) ?? "" }
    }

    @Test("at 2 ranks, buckets during backward train the parameters of one all-reduce after it, bit for bit; exposed_comm_seconds is in metrics.jsonl and results.csv")
    func twoRanksBitIdentical() throws {
        let whole = scratchDirectory("one-bucket")
        let bucketed = scratchDirectory("buckets")
        let one = try runBatchAugDist(ranks: 2, Self.quick + ["--bucket-size", "0", "--output", whole.path])
        #expect(one.status == 0, "\(one)")
        #expect(one.stdout.contains("gradient in 1 bucket (--bucket-size 0)"), "\(one)")
        let many = try runBatchAugDist(ranks: 2, Self.quick + ["--bucket-size", "16K", "--overlap", "on",
                                                               "--output", bucketed.path])
        #expect(many.status == 0, "\(many)")
        #expect(many.stdout.contains("buckets (--bucket-size 16K), all-reduced during backward"), "\(many)")

        let a = try checkpointTensors(whole), b = try checkpointTensors(bucketed)
        #expect(a.count > 3 && a.keys.sorted() == b.keys.sorted())
        for (name, values) in a {
            #expect(bitDifference(values, b[name] ?? []) == nil, "\(name) differs with buckets")
        }

        for run in [whole, bucketed] {
            let rows = try resultRows(run)
            #expect(rows.count == 1 && Double(rows[0]["exposed_comm_seconds"] ?? "") != nil, "\(rows)")
            let steps = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
                .split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .filter { $0["type"] as? String == "step" }
            #expect(steps.count == 2, "\(steps)")
            for step in steps {
                let exposed = try #require(step["exposed_comm_seconds"] as? Double, "\(step)")
                let total = try #require(step["comm_seconds"] as? Double)
                #expect(exposed >= 0 && exposed <= step["step_seconds"] as? Double ?? 0, "\(step)")
                // One bucket after backward: all of the all-reduce is exposed.
                if run == whole { #expect(exposed == total, "\(step)") }
            }
        }
    }

    @Test("at 3 ranks with buckets every rank ends with the same parameters, during backward or after it, those of --simulate-ranks 3 with the same buckets")
    func threeRanksAgree() throws {
        let options = Self.quick + ["--bucket-size", "16K", "--allreduce", "ring", "--debug-rank-checksums"]
        var runs: [String: [String]] = [:]
        for overlap in ["on", "off"] {
            let real = try runBatchAugDist(ranks: 3, options + ["--overlap", overlap])
            #expect(real.status == 0, "\(real)")
            #expect(real.stdout.contains(overlap == "on" ? "all-reduced during backward" : "all-reduced after backward (--overlap off)"),
                    "\(real)")
            runs[overlap] = checksums(real)
            #expect(runs[overlap]!.count == 3 && Set(runs[overlap]!).count == 1, "\(real)")
        }
        #expect(runs["on"] == runs["off"], "\(runs)")

        let simulated = try runBatchAugDist(ranks: nil, options + ["--simulate-ranks", "3"])
        #expect(simulated.status == 0, "\(simulated)")
        #expect(checksums(simulated) == [runs["on"]?.first ?? "none"], "\(simulated)")
    }

    @Test("--overlap auto decides after the second step from the all-reduce's share of forward and backward, says so, and trains the same bits as on and off")
    func automaticOverlap() throws {
        let options = Self.quick + ["--bucket-size", "16K", "--allreduce", "ring", "--debug-rank-checksums"]
        let auto = try runBatchAugDist(ranks: 3, options)
        #expect(auto.status == 0, "\(auto)")
        #expect(auto.stdout.contains("all-reduced after backward until overlap auto has measured a step"), "\(auto)")
        let decision = try #require(auto.stdout.split(separator: "\n").first { $0.hasPrefix("overlap (auto): ") }, "\(auto)")
        #expect(decision.contains("the all-reduce took ") && decision.contains(" forward and backward ("), "\(decision)")
        #expect(decision.hasPrefix("overlap (auto): on") || decision.hasPrefix("overlap (auto): off"), "\(decision)")
        let fixed = try runBatchAugDist(ranks: 3, options + ["--overlap", "off"])
        #expect(fixed.status == 0, "\(fixed)")
        #expect(checksums(auto) == checksums(fixed) && checksums(auto).count == 3, "\(auto)\n\(fixed)")
    }

    @Test("a bucket size that is not a size, or an overlap that is not auto, on or off, is refused, naming the option")
    func badBucketSize() throws {
        let outcome = try runBatchAugDist(ranks: 2, Self.quick + ["--bucket-size", "big"])
        #expect(outcome.status != 0 && !outcome.timedOut, "\(outcome)")
        #expect(outcome.stderr.contains("--bucket-size") && outcome.stderr.contains("big"), "\(outcome)")
        let overlap = try runBatchAugDist(ranks: 2, Self.quick + ["--overlap", "sometimes"])
        #expect(overlap.status != 0 && !overlap.timedOut, "\(overlap)")
        #expect(overlap.stderr.contains("--overlap") && overlap.stderr.contains("sometimes"), "\(overlap)")
    }
}

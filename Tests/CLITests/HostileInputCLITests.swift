import Foundation
import Testing
import TestSupport

/// The hostile inputs of issue 12, under `mpirun -np 2`: each ends with one message naming the
/// option, file or value, an exit status of 1–127 on the job (no signal, no backtrace), and
/// nothing already written lost or changed.
@Suite("train: hostile input", .serialized)
struct HostileInputCLITests {
    static let base = ["train", "--model", "mlp", "--max-steps", "2"]

    @Test("a run that needs more memory than the machine has is refused with the figures, before it allocates")
    func tooMuchMemory() throws {
        let output = scratchDirectory("memory").path
        let cases: [([String], [String])] = [
            (["--copies", "100000000"], ["--copies 100000000 with --batch-size 128", "estimated", "available", "ghost batch"]),
            (["--regime", "0:copies=100000000"], ["--regime from epoch 0", "copies 100000000", "estimated", "available"]),
            (["--epochs", "3", "--regime", "2:copies=100000000"], ["--regime from epoch 2", "estimated", "available"]),
            (["--model", "cnn", "--batch-size", "10000", "--copies", "6400"], ["--copies 6400 with --batch-size 10000", "estimated", "available"]),
        ]
        for (arguments, expected) in cases {
            try expectRefused(ranks: 2, ["train", "--output", output] + arguments, naming: expected, within: 20)
        }
        #expect(!FileManager.default.fileExists(atPath: output), "nothing is written for a refused run")
    }

    @Test("bench step prints the memory estimate beside the measured peak, and the peak is the estimate plus the process")
    func benchStepEstimate() throws {
        let result = try runBatchAugDist(ranks: nil, ["bench", "step", "--model", "resnet8", "--batch-size", "256",
                                                      "--iters", "1", "--json"])
        #expect(result.status == 0, "\(result)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
        let estimate = object["estimated_bytes"] as? Double ?? 0, peak = Double(object["peak_rss_bytes"] as? Int ?? 0)
        // The process itself (runtime, libraries, the sgemm measurement) takes some 60-100 MB here.
        #expect(estimate > 100e6 && estimate < peak && peak - estimate < 250e6, "estimate \(estimate), peak \(peak)")
        let text = try runBatchAugDist(ranks: nil, ["bench", "step", "--model", "resnet8", "--batch-size", "16", "--iters", "1"])
        #expect(text.stdout.contains("peak RSS") && text.stdout.contains("estimated for the step"), "\(text)")
    }
}

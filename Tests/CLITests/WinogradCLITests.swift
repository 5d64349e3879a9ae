import Foundation
import Testing
import TestSupport

/// The Winograd kernels as users meet them: `bench step --path/--profile/--calibrate`, and
/// training with the planner's choice in force (bit-identical resume under mpirun).
@Suite("Winograd kernels from the command line", .serialized)
struct WinogradCLITests {
    /// Whether this CPU runs the AVX2 kernels (the planner keeps the portable build on direct kernels).
    static let hasAVX2: Bool = {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let flags = info.split(separator: "\n").first { $0.hasPrefix("flags") }.map { $0.split(separator: " ") } ?? []
        return flags.contains("avx2") && flags.contains("fma")
    }()

    @Test("bench step --path direct,auto --profile: both reports, the speed-up, each convolution's kernels")
    func pathAndProfile() throws {
        let result = try runBatchAugDist(ranks: nil, ["bench", "step", "--model", "resnet8", "--batch-size", "8",
                                                      "--size", "16", "--iters", "1", "--path", "direct,auto",
                                                      "--profile"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("--path direct") && result.stdout.contains("--path auto"))
        #expect(result.stdout.contains("--path auto vs direct: "))
        #expect(result.stdout.contains("gradient error"))
        let layers = result.stdout.split(separator: "\n").filter { $0.hasPrefix("layer") && $0.contains("3×3/1") }
        #expect(layers.count == 2 * 4, "\(layers)")   // 4 stride-1 3×3 layers, once per path
        if Self.hasAVX2 {
            #expect(layers.filter { $0.contains("winograd (F4 fwd, F4 dx, F4 dw)") }.count == 4, "\(layers)")
        }
        #expect(layers.filter { $0.contains("  direct  ") }.count >= 4, "\(layers)")
    }

    @Test("bench step --calibrate: every product of every shape on the three kernels, with errors")
    func calibrate() throws {
        let result = try runBatchAugDist(ranks: nil, ["bench", "step", "--model", "resnet8", "--batch-size", "4",
                                                      "--size", "8", "--iters", "1", "--calibrate", "--json"])
        #expect(result.status == 0, "\(result)")
        let rows = result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        // resnet8's stride-1 3×3 shapes: 3→16 8×8, 16→16 8×8, 32→32 4×4, 64→64 2×2; three products each.
        #expect(rows.count == 12, "\(result.stdout)")
        for row in rows {
            for key in ["direct_seconds", "f2_seconds", "f4_seconds"] { #expect((row[key] as? Double ?? 0) > 0, "\(row)") }
            let f2 = row["f2_relative_error"] as? Double ?? 1, f4 = row["f4_relative_error"] as? Double ?? 1
            #expect(f2 < 2e-5 && f4 < 1e-4, "\(row)")
        }
    }

    @Test("a wrong --path is refused, naming the option and the values")
    func wrongPath() throws {
        let result = try runBatchAugDist(ranks: nil, ["bench", "step", "--path", "direct,fast"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--path") && result.stderr.contains("fast") && result.stderr.contains("winograd"),
                "\(result)")
    }

    /// cnn: Winograd layers and dropout; resnet8: Winograd and blocked-product (strided) layers,
    /// built without dropout sites (--dropout 0).
    @Test("a resumed run under mpirun -np 2 is bit-identical to an uninterrupted one",
          arguments: [("cnn", "0.1", "winograd (F4"), ("resnet8", "0", "gemm (blocks")])
    func resumeIsExact(model: String, dropout: String, kernel: String) throws {
        if Self.hasAVX2 {
            let kernels = try runBatchAugDist(ranks: nil, ["bench", "step", "--model", model, "--batch-size", "4",
                                                           "--iters", "1", "--profile"])
            #expect(kernels.stdout.contains(kernel), "\(kernels)")
        }
        let common = ["train", "--model", model, "--batch-size", "32", "--copies", "2", "--ghost-batch-size", "16",
                      "--dropout", dropout, "--log-every", "100", "--eval-every", "0"]
        let whole = scratchDirectory("wino-whole-\(model)"), pieces = scratchDirectory("wino-pieces-\(model)")
        let uninterrupted = try runBatchAugDist(ranks: 2, common + ["--output", whole.path, "--max-steps", "6"])
        #expect(uninterrupted.status == 0, "\(uninterrupted)")
        let first = try runBatchAugDist(ranks: 2, common + ["--output", pieces.path, "--max-steps", "3"])
        #expect(first.status == 0, "\(first)")
        let second = try runBatchAugDist(ranks: 2, ["train", "--resume", pieces.path, "--max-steps", "6"])
        #expect(second.status == 0, "\(second)")
        let a = try checkpointTensors(whole), b = try checkpointTensors(pieces)
        #expect(!a.isEmpty && a.keys.sorted() == b.keys.sorted())
        let differing = a.keys.filter { a[$0] != b[$0] }.sorted()
        #expect(differing.isEmpty, "tensors that differ: \(differing)")
    }
}

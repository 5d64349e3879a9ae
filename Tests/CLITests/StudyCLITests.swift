import Foundation
import Testing
import TestSupport

/// `study` as users run it: under mpirun, on tiny synthetic settings (an MLP, 256 samples, 1 epoch).
@Suite("study under mpirun", .serialized)
struct StudyCLITests {
    static let tiny = ["--dataset", "synthetic", "--model", "mlp", "--train-samples", "256", "--epochs", "1", "--seeds", "1"]

    @Test("a study runs its arms, writes the summary and the verdict; the same command again skips every run")
    func runsAndSkips() throws {
        let output = scratchDirectory("study")
        defer { try? FileManager.default.removeItem(at: output) }
        let first = try runBatchAugDist(ranks: 2, ["study", "copies"] + Self.tiny + ["--output", output.path], timeout: 300)
        #expect(first.status == 0 && !first.timedOut, "\(first)")
        #expect(first.stdout.components(separatedBy: ": starting").count - 1 == 4, "\(first)")
        #expect(first.stdout.contains("verdict: "), "\(first)")
        let summary = try String(contentsOf: output.appendingPathComponent("summary.csv"), encoding: .utf8)
        let rows = summary.split(separator: "\n")
        #expect(rows.count == 5 && rows[0].hasPrefix("study,arm,seed,model,dataset,train_samples"), "\(summary)")
        #expect(rows.dropFirst().map { $0.split(separator: ",")[1] } == ["baseline", "ba-2", "ba-4", "ba-8"])
        let markdown = try String(contentsOf: output.appendingPathComponent("summary.md"), encoding: .utf8)
        #expect(markdown.contains("## Verdict: "))
        for arm in ["baseline", "ba-2", "ba-4", "ba-8"] {
            let config = output.appendingPathComponent("runs/\(arm)-seed1/config.json")
            #expect(FileManager.default.fileExists(atPath: config.path), "\(arm)")
        }

        let second = try runBatchAugDist(ranks: 2, ["study", "copies"] + Self.tiny + ["--output", output.path], timeout: 300)
        #expect(second.status == 0, "\(second)")
        #expect(second.stdout.components(separatedBy: "finished earlier, skipped").count - 1 == 4, "\(second)")
        #expect(!second.stdout.contains(": starting"), "\(second)")
        #expect(try String(contentsOf: output.appendingPathComponent("summary.csv"), encoding: .utf8) == summary)
    }

    @Test("bad input: one clear message naming the study, option or directory; non-zero exit on every rank")
    func badInput() throws {
        let output = scratchDirectory("study-bad")
        defer { try? FileManager.default.removeItem(at: output) }
        let cases: [([String], String)] = [
            (["study", "no-such-study"], "unknown study 'no-such-study'"),
            (["study", "copies", "--seeds", "0"], "--seeds must be at least 1"),
            (["study", "copies", "--scale", "huge"], "--scale must be small or paper"),
            (["study", "copies", "--output", output.path], "no data directory given"),
        ]
        for (arguments, expected) in cases {
            let outcome = try runBatchAugDist(ranks: 2, arguments, timeout: 60)
            #expect(outcome.status != 0 && !outcome.timedOut, "\(arguments): \(outcome)")
            #expect(outcome.stderr.contains(expected), "\(arguments): \(outcome)")
        }
    }
}

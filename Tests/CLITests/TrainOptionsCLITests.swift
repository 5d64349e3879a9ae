import Foundation
import JSON
import Testing
import TestSupport

/// The flags of `train` as they reach the configuration: every flag sets its option, and 64-bit
/// seeds survive flags, config.json and `--config` exactly.
@Suite("train: flags and config.json", .serialized)
struct TrainOptionsCLITests {
    /// The resolved configuration a run recorded, read without passing numbers through a Double.
    static func recordedConfiguration(_ run: URL) throws -> [String: JSONValue] {
        let text = try Data(contentsOf: run.appendingPathComponent("config.json"))
        return try #require(try JSONValue(parsing: text).objectValue?["configuration"]?.objectValue)
    }

    @Test("a seed given as a flag is recorded exactly, and --config config.json repeats the run bit for bit",
          arguments: ["0", "9007199254740993", "18446744073709551615"])
    func seedRoundTrip(seed: String) throws {
        let first = scratchDirectory("seed"), again = scratchDirectory("seed-again")
        let run = try runBatchAugDist(ranks: nil, ["train", "--model", "mlp", "--batch-size", "64", "--max-steps", "2",
                                                   "--eval-every", "0", "--seed", seed, "--output", first.path])
        #expect(run.status == 0, "\(run)")
        let recorded = try Self.recordedConfiguration(first)
        #expect(recorded["seed"].map { try? $0.jsonText() } == seed, "\(recorded)")
        #expect(try String(contentsOf: first.appendingPathComponent("config.json"), encoding: .utf8).contains("\"seed\":\(seed)"))

        let rerun = try runBatchAugDist(ranks: nil, ["train", "--config", first.appendingPathComponent("config.json").path,
                                                     "--output", again.path])
        #expect(rerun.status == 0, "\(rerun)")
        var expected = recorded
        expected["output"] = .string(again.path)
        #expect(try Self.recordedConfiguration(again) == expected)
        let a = try checkpointTensors(first), b = try checkpointTensors(again)
        #expect(!a.isEmpty && a == b, "the --config rerun trains the same parameters")
    }

    @Test("every flag sets the option of its name")
    func everyFlag() throws {
        let output = scratchDirectory("flags")
        let given: [(flag: String, value: String?, json: JSONValue)] = [
            ("dataset", "synthetic", "synthetic"), ("data-dir", "/nonexistent", "/nonexistent"), ("model", "mlp", "mlp"),
            ("epochs", "3", 3), ("train-samples", "5000", 5000), ("batch-size", "64", 64), ("copies", "2", 2), ("augment", "flip", "flip"),
            ("ghost-batch-size", "32", 32), ("dropout", "0.25", 0.25), ("lr", "0.05", 0.05), ("momentum", "0.8", 0.8),
            ("nesterov", nil, true), ("weight-decay", "0.001", 0.001), ("grad-clip", "5.5", 5.5),
            ("warmup-epochs", "0.5", 0.5), ("lr-scaling", "linear", "linear"), ("base-batch-size", "256", 256),
            ("regime", "1:lr=0.01", "1:lr=0.01"), ("regime-adaptation", "2", 2), ("allreduce", "mpi", "mpi"),
            ("seed", "18446744073709551615", .unsignedInteger(.max)), ("output", output.path, .string(output.path)),
            ("checkpoint-every", "2", 2), ("eval-every", "3", 3), ("log-every", "7", 7), ("max-steps", "1", 1),
            ("simulate-ranks", "2", 2), ("bucket-size", "64K", "64K"),
        ]
        let arguments = given.flatMap { ["--" + $0.flag] + ($0.value.map { [$0] } ?? []) }
        let run = try runBatchAugDist(ranks: nil, ["train"] + arguments)
        #expect(run.status == 0, "\(run)")
        let recorded = try Self.recordedConfiguration(output)
        for (flag, _, json) in given { #expect(recorded[flag] == json, "--\(flag): \(recorded[flag].map { "\($0)" } ?? "unset")") }
        // Every option the configuration holds has a flag (all but --resume, which needs a checkpoint, are given here).
        #expect(Set(recorded.keys) == Set(given.map(\.flag)), "options without a flag: \(Set(recorded.keys).subtracting(given.map(\.flag)))")
    }
}

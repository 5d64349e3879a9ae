import Foundation
import Testing
import TestSupport

/// Bad input to `train` and `eval`: before any training, every rank stops with one message naming
/// the option or file, a non-zero exit, and no hang.
@Suite("train: bad input", .serialized)
struct TrainErrorsCLITests {
    static let base = ["train", "--model", "mlp", "--max-steps", "2"]

    @Test("options that cannot work are refused on every rank")
    func badOptions() throws {
        let output = scratchDirectory("bad").path
        let cases: [(Int?, [String], [String])] = [
            (3, ["--batch-size", "100"], ["--batch-size", "not divisible by the 3 ranks"]),
            (2, ["--batch-size", "128", "--ghost-batch-size", "48"], ["--ghost-batch-size", "48"]),
            (2, ["--copies", "0"], ["--copies"]),
            (2, ["--model", "resnet21"], ["--model", "resnet21"]),
            (2, ["--dataset", "imagenet"], ["--dataset", "imagenet"]),
            (2, ["--regime", "0:lr=fast"], ["--regime"]),
            (nil, ["--simulate-ranks", "0"], ["--simulate-ranks"]),
            (2, ["--eval-every-steps", "-1"], ["--eval-every-steps"]),
            (2, ["--simulate-ranks", "2"], ["--simulate-ranks", "without mpirun"]),
        ]
        for (ranks, arguments, expected) in cases {
            try expectRefused(ranks: ranks, Self.base + ["--output", output] + arguments, naming: expected)
        }
        #expect(!FileManager.default.fileExists(atPath: output), "nothing is written for a refused run")
    }

    @Test("missing and corrupt data name the file", arguments: [1, 2])
    func badData(ranks: Int) throws {
        let output = scratchDirectory("data").path
        try expectRefused(ranks: ranks, Self.base + ["--output", output, "--dataset", "cifar10", "--data-dir", "/nonexistent"],
                          naming: ["/nonexistent/data_batch_1.bin", "missing"])
        // A CIFAR-10 directory whose first batch file is cut short.
        let directory = scratchDirectory("cifar")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let record = 1 + 3072
        for name in ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin",
                     "test_batch.bin"] {
            let records = name == "data_batch_1.bin" ? 9_999 : 10_000
            try Data(count: records * record + (name == "data_batch_1.bin" ? 100 : 0))
                .write(to: directory.appendingPathComponent(name))
        }
        try expectRefused(ranks: ranks, Self.base + ["--output", output, "--dataset", "cifar10", "--data-dir", directory.path],
                          naming: ["data_batch_1.bin"])
        // A fashion-mnist directory holding garbage.
        let idx = scratchDirectory("idx")
        try FileManager.default.createDirectory(at: idx, withIntermediateDirectories: true)
        for name in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
            try Data("not an idx file".utf8).write(to: idx.appendingPathComponent(name))
        }
        try expectRefused(ranks: ranks, Self.base + ["--output", output, "--dataset", "fashion-mnist", "--data-dir", idx.path],
                          naming: ["idx"])
    }

    @Test("an output directory that cannot be written, or already holds a run, is refused")
    func badOutput() throws {
        let file = scratchDirectory("file")
        try Data("x".utf8).write(to: file)
        try expectRefused(ranks: 2, Self.base + ["--output", file.appendingPathComponent("run").path], naming: ["--output"])
        try expectRefused(ranks: 2, Self.base + ["--output", "/proc/batchaug-run"], naming: ["--output", "/proc/batchaug-run"])

        let used = scratchDirectory("used")
        let first = try runBatchAugDist(ranks: 2, Self.base + ["--output", used.path])
        #expect(first.status == 0, "\(first)")
        let before = try Data(contentsOf: used.appendingPathComponent("results.csv"))
        try expectRefused(ranks: 2, Self.base + ["--output", used.path], naming: ["--output", "already holds a run", "--resume"])
        #expect(try Data(contentsOf: used.appendingPathComponent("results.csv")) == before, "the earlier run is untouched")
    }

    @Test("a resume with another model, configuration or number of ranks is refused")
    func badResume() throws {
        let run = scratchDirectory("resume")
        let first = try runBatchAugDist(ranks: 2, Self.base + ["--output", run.path])
        #expect(first.status == 0, "\(first)")
        try expectRefused(ranks: 2, ["train", "--resume", run.path, "--model", "cnn"], naming: ["--model", "mlp"])
        try expectRefused(ranks: 2, ["train", "--resume", run.path, "--copies", "4"], naming: ["--copies"])
        try expectRefused(ranks: 3, ["train", "--resume", run.path], naming: ["--resume", "2-rank run", "3 ranks", "mpirun -np 2"])
        try expectRefused(ranks: nil, ["train", "--resume", run.path], naming: ["--resume", "--simulate-ranks 2"])
        try expectRefused(ranks: 2, ["train", "--resume", scratchDirectory("none").path], naming: ["--resume"])
        // The same two ranks, simulated in one process, may continue it.
        let simulated = try runBatchAugDist(ranks: nil, ["train", "--resume", run.path, "--simulate-ranks", "2",
                                                         "--max-steps", "4"])
        #expect(simulated.status == 0 && simulated.stdout.contains("resuming at epoch 0 step 2"), "\(simulated)")
    }

    @Test("a configuration file with an unknown key or a wrong type is refused, naming key and file")
    func badConfigFile() throws {
        let file = scratchDirectory("config").appendingPathExtension("json")
        try Data(#"{"model": "mlp", "batchsize": 64}"#.utf8).write(to: file)
        try expectRefused(ranks: 2, ["train", "--config", file.path], naming: ["--batchsize", "batch-size", file.path])
        try Data(#"{"epochs": "ten"}"#.utf8).write(to: file)
        try expectRefused(ranks: 2, ["train", "--config", file.path], naming: ["epochs", file.path])
    }

    @Test("eval of something that is not a checkpoint names --checkpoint")
    func badEval() throws {
        try expectRefused(ranks: 2, ["eval", "--checkpoint", "/nonexistent/run"], naming: ["--checkpoint", "/nonexistent/run"])
    }
}

import Checkpoints
import Foundation
import JSON
import Testing
import TestSupport

/// Small trained checkpoints for the export tests: a CIFAR-10-format directory (5 training files of
/// 40 records, a test file of 200; each record a colour that depends on its class, plus noise) and,
/// per model, a run of 24 steps (4 epochs) on it, made once and shared by the tests that need it: enough for
/// the running statistics to have left their initial values and the model to tell some classes apart.
enum TrainedRuns {
    static let data: URL = {
        let directory = scratchDirectory("export-data")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt8 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        for (name, count) in (1 ... 5).map({ ("data_batch_\($0).bin", 40) }) + [("test_batch.bin", 200)] {
            var bytes: [UInt8] = []
            for record in 0 ..< count {
                let label = UInt8(record % 10)
                bytes.append(label)
                for channel in 0 ..< 3 {
                    let base = Int(label) * 20 + channel * 30
                    for _ in 0 ..< 1024 { bytes.append(UInt8(min(255, base + Int(next() % 96)))) }
                }
            }
            try? Data(bytes).write(to: directory.appendingPathComponent(name))
        }
        return directory
    }()

    static var testFile: URL { data.appendingPathComponent("test_batch.bin") }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var runs: [String: URL] = [:]

    /// The output directory of a 24-step run of `model` (trained the first time it is asked for).
    static func run(_ model: String) throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if let run = runs[model] { return run }
        let output = scratchDirectory("export-\(model)")
        let outcome = try runBatchAugDist(ranks: nil, ["train", "--model", model, "--dataset", "cifar10", "--data-dir", data.path,
                                                       "--batch-size", "32", "--max-steps", "24", "--lr", "0.02",
                                                       "--output", output.path])
        guard outcome.status == 0, !outcome.timedOut else { throw TrainingFailed(description: "\(model): \(outcome)") }
        runs[model] = output
        return output
    }

    struct TrainingFailed: Error, CustomStringConvertible {
        let description: String
    }
}

/// Runs `batchaug-dist arguments` (one process) and returns its standard output; a failure is recorded.
func succeed(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    let outcome = try runBatchAugDist(ranks: nil, arguments, timeout: 300)
    #expect(outcome.status == 0 && !outcome.timedOut, "\(arguments): \(outcome)", sourceLocation: sourceLocation)
    return outcome.stdout
}

/// `predict --json` output: per image its label and logits.
func predictions(_ stdout: String) throws -> [(label: Int, logits: [Float])] {
    try stdout.split(separator: "\n").map { line in
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let logits = try #require(object["logits"] as? [Double]).map(Float.init)
        return (try #require(object["label"] as? Int), logits)
    }
}

/// `eval --json`: the number of test images and how many the model got wrong.
func evaluation(_ run: URL) throws -> (samples: Int, wrong: Int, error: Double) {
    let stdout = try succeed(["eval", "--checkpoint", run.path, "--json"])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
    let samples = try #require(object["samples"] as? Int), error = try #require(object["test_error"] as? Double)
    return (samples, Int((error * Double(samples)).rounded()), error)
}

func wrongCount(_ predicted: [(label: Int, logits: [Float])]) -> Int {
    predicted.filter { item in item.logits.indices.max { item.logits[$0] < item.logits[$1] } != item.label }.count
}

/// The acceptance checks of the export: a model trained by `train`, exported, run by onnxruntime
/// and by PyTorch on the test records, against what `eval` and `predict` compute.
@Suite("export and predict: trained checkpoints in onnxruntime and PyTorch", .serialized)
struct ExportCLITests {
    static let models = ["resnet20", "wrn16-4", "cnn"]

    @Test("ONNX in onnxruntime: the logits of eval's forward passes (predict) within 1e-4, the same test error as eval",
          arguments: models)
    func onnxRuntime(_ model: String) throws {
        let run = try TrainedRuns.run(model)
        let file = run.appendingPathComponent("\(model).onnx")
        let exported = try succeed(["export", "--checkpoint", run.path, "--output", file.path, "--format", "onnx"])
        #expect(exported.contains("wrote \(file.path) (onnx): \(model), 10 classes, input 3×32×32"), "\(exported)")
        let eval = try evaluation(run)
        let ours = try predictions(try succeed(["predict", "--checkpoint", run.path, "--records", "all", "--json"]))
        let theirs = try ExportedModelRunner.onnxRuntime(file, images: .cifar(TrainedRuns.testFile))
        #expect(ours.count == 200 && eval.samples == 200 && theirs.logits.count == 200)
        #expect(theirs.labels == ours.map(\.label))
        let difference = ExportedModelRunner.relativeDifference(ours.map(\.logits), theirs.logits)
        #expect(difference <= 1e-4, "\(model): relative difference \(difference)")
        #expect(wrongCount(ours) == eval.wrong, "predict's argmax against eval")
        #expect(theirs.wrong == eval.wrong, "\(model): onnxruntime gets \(theirs.wrong) of 200 wrong, eval \(eval.wrong)")
        print("export check \(model) onnxruntime: max relative logit difference \(difference), test error "
            + "\(theirs.wrong)/200 (eval: \(eval.error), \(eval.wrong)/\(eval.samples))")
    }

    @Test("safetensors in PyTorch (strict=True): the logits of predict --model within 1e-4, the same test error as eval",
          .enabled(if: ExportedModelRunner.torchPython != nil, Comment(rawValue: ExportedModelRunner.torchAbsence)),
          arguments: models)
    func pyTorch(_ model: String) throws {
        let run = try TrainedRuns.run(model)
        let file = run.appendingPathComponent("\(model).safetensors")
        _ = try succeed(["export", "--checkpoint", run.path, "--output", file.path])
        let eval = try evaluation(run)
        let ours = try predictions(try succeed(["predict", "--model", file.path, "--data-dir", TrainedRuns.data.path,
                                                "--records", "all", "--json"]))
        let theirs = try ExportedModelRunner.pyTorch(file, images: .cifar(TrainedRuns.testFile))
        let difference = ExportedModelRunner.relativeDifference(ours.map(\.logits), theirs.logits)
        #expect(difference <= 1e-4, "\(model): relative difference \(difference)")
        #expect(wrongCount(ours) == eval.wrong, "predict --model against eval")
        #expect(theirs.wrong == eval.wrong, "\(model): PyTorch gets \(theirs.wrong) of 200 wrong, eval \(eval.wrong)")
        print("export check \(model) PyTorch: max relative logit difference \(difference), test error "
            + "\(theirs.wrong)/200 (eval: \(eval.error), \(eval.wrong)/\(eval.samples))")
    }

    @Test("predict prints class names and probabilities: text, --top-k and --json")
    func predictOutput() throws {
        let run = try TrainedRuns.run("cnn")
        let text = try succeed(["predict", "--checkpoint", run.path, "--records", "3,5-6", "--top-k", "2"])
        let lines = text.split(separator: "\n")
        #expect(lines.count == 3 && lines[0].hasPrefix("cifar10 test #3 (label cat): ") && lines[1].hasPrefix("cifar10 test #5 (label dog): "),
                "\(text)")
        #expect(lines.allSatisfy { $0.split(separator: "%").count == 2 }, "two classes per line: \(text)")
        let json = try succeed(["predict", "--checkpoint", run.path, "--records", "0", "--json", "--top-k", "10"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let top = try #require(object["top"] as? [[String: Any]])
        let probabilities = top.compactMap { $0["probability"] as? Double }
        #expect(top.count == 10 && probabilities == probabilities.sorted(by: >))
        #expect(abs(probabilities.reduce(0, +) - 1) < 1e-5)
        #expect(Set(top.compactMap { $0["name"] as? String }) == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                                                                   "horse", "ship", "truck"])
        #expect(object["label_name"] as? String == "airplane" && object["input"] as? String == "cifar10 test #0")
    }

    @Test("bad input: a missing, corrupt or foreign checkpoint, an unknown architecture, an input the model cannot take")
    func refusals() throws {
        let run = try TrainedRuns.run("cnn")
        let scratch = scratchDirectory("export-bad")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let output = scratch.appendingPathComponent("out.onnx").path

        try expectRefused(ranks: nil, ["export", "--checkpoint", scratch.appendingPathComponent("absent").path, "--output", output],
                          naming: ["export: --checkpoint", "absent"])
        // Another program's files: no checkpoint.json.
        let foreign = scratch.appendingPathComponent("foreign")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        try Data("PK\u{3}\u{4} a PyTorch zip".utf8).write(to: foreign.appendingPathComponent("model.pt"))
        try expectRefused(ranks: nil, ["export", "--checkpoint", foreign.path, "--output", output], naming: [foreign.path])
        // A damaged tensor file.
        let corrupt = scratch.appendingPathComponent("corrupt")
        try FileManager.default.copyItem(at: run, to: corrupt)
        let tensors = CheckpointStore.directory(in: corrupt).appendingPathComponent(CheckpointStore.tensorFileName)
        try Data(try Data(contentsOf: tensors).dropLast(100)).write(to: tensors)
        try expectRefused(ranks: nil, ["export", "--checkpoint", corrupt.path, "--output", output],
                          naming: [CheckpointStore.tensorFileName])
        // Checkpoints in our format of an architecture we do not know, and of another program's configuration.
        for (name, configuration, expected) in [("unknown", ["model": "resnet21", "dataset": "cifar10"] as JSONValue, "unknown model 'resnet21'"),
                                                ("alien", ["optimizer": "adam"] as JSONValue, "holds no configuration of this tool")] {
            let directory = CheckpointStore.directory(in: scratch.appendingPathComponent(name))
            try CheckpointStore.write(directory: directory, info: CheckpointInfo(epoch: 1, step: 10, ranks: 1, model: "resnet21",
                                                                                 configuration: configuration, toolVersion: "test"),
                                      tensors: [try NamedTensor(name: "conv1.weight", shape: [2], values: [Float(1), 2])])
            try expectRefused(ranks: nil, ["export", "--checkpoint", directory.path, "--output", output], naming: [expected])
            try expectRefused(ranks: nil, ["predict", "--checkpoint", directory.path, "--records", "0"], naming: [expected])
        }
        #expect(!FileManager.default.fileExists(atPath: output), "nothing written")

        // An input the model cannot take: 1×28×28 images (MNIST's IDX files) for a 3×32×32 model.
        let mnist = scratch.appendingPathComponent("mnist")
        try FileManager.default.createDirectory(at: mnist, withIntermediateDirectories: true)
        func header(_ words: [UInt32]) -> [UInt8] { words.flatMap { word in (0 ..< 4).reversed().map { UInt8(truncatingIfNeeded: word >> (8 * $0)) } } }
        try Data(header([0x803, 4, 28, 28]) + [UInt8](repeating: 7, count: 4 * 784)).write(to: mnist.appendingPathComponent("t10k-images-idx3-ubyte"))
        try Data(header([0x801, 4]) + [0, 1, 2, 3]).write(to: mnist.appendingPathComponent("t10k-labels-idx1-ubyte"))
        try expectRefused(ranks: nil, ["predict", "--checkpoint", run.path, "--dataset", "mnist", "--data-dir", mnist.path, "--records", "0"],
                          naming: ["1×28×28", "takes 3×32×32"])
        // An ONNX file where predict wants the safetensors export; records past the end; flags.
        let onnx = scratch.appendingPathComponent("cnn.onnx")
        _ = try succeed(["export", "--checkpoint", run.path, "--output", onnx.path])
        try expectRefused(ranks: nil, ["predict", "--model", onnx.path, "--records", "0"], naming: [onnx.path, "ONNX"])
        try expectRefused(ranks: nil, ["predict", "--checkpoint", run.path, "--records", "190-200"],
                          naming: ["--records: 200 is past the last of the 200 cifar10 test records"])
        try expectRefused(ranks: nil, ["predict", "--checkpoint", run.path, "--model", onnx.path, "--records", "0"],
                          naming: ["either --checkpoint"])
        try expectRefused(ranks: nil, ["predict", "--checkpoint", run.path, "--records", "5-2"], naming: ["'5-2'"])
        try expectRefused(ranks: nil, ["export", "--checkpoint", run.path, "--output", output, "--format", "pt"], naming: ["--format"])
    }
}

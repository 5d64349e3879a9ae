import Foundation
import Checkpoints
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

    /// In a process of its own, so that the peak resident size is the step's and the process's
    /// alone: every model family, on CIFAR- and Fashion-MNIST-shaped inputs.
    @Test("bench step prints the memory estimate beside the measured peak, and the peak is the estimate plus the process",
          arguments: [("resnet8", 3, 32, 256), ("resnet20", 3, 32, 128), ("wrn10-2", 3, 32, 128), ("cnn", 3, 32, 128),
                      ("mlp", 1, 28, 128)])
    func benchStepEstimate(model: String, channels: Int, size: Int, batch: Int) throws {
        let result = try runBatchAugDist(ranks: nil, ["bench", "step", "--model", model, "--channels", "\(channels)",
                                                      "--size", "\(size)", "--batch-size", "\(batch)", "--iters", "1",
                                                      "--json"])
        #expect(result.status == 0, "\(result)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
        let estimate = object["estimated_bytes"] as? Double ?? 0, peak = Double(object["peak_rss_bytes"] as? Int ?? 0)
        // The process itself (runtime, libraries, the sgemm measurement) takes some 60-100 MB here.
        #expect(estimate > 1e6 && estimate < peak && peak - estimate < 250e6, "\(model): estimate \(estimate), peak \(peak)")
        guard model == "resnet8" else { return }
        let text = try runBatchAugDist(ranks: nil, ["bench", "step", "--model", "resnet8", "--batch-size", "16", "--iters", "1"])
        #expect(text.stdout.contains("peak RSS") && text.stdout.contains("estimated for the step"), "\(text)")
    }
}

/// Rewrites a run's checkpoint through the real writer (its checksums right) after `info` and
/// `tensors` edited what it holds: a checkpoint a bug or a person could have written.
func rewriteCheckpoint(_ run: URL, info editInfo: (inout CheckpointInfo) -> Void = { _ in },
                       tensors editTensors: (inout [String: [Float]]) -> Void = { _ in }) throws {
    let checkpoint = try CheckpointStore.latest(in: run)
    var info = checkpoint.info
    editInfo(&info)
    var values = try checkpointTensors(run)
    editTensors(&values)
    let tensors = try checkpoint.tensors.map { try NamedTensor(name: $0.name, shape: $0.shape, values: values[$0.name]!) }
    try CheckpointStore.write(directory: checkpoint.directory, info: info, tensors: tensors)
}

/// Every file of a directory tree and its bytes (what "nothing changed" compares).
func treeContents(_ directory: URL) throws -> [String: Data] {
    var contents: [String: Data] = [:]
    let files = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
    while let file = files?.nextObject() as? URL {
        if let data = try? Data(contentsOf: file), !file.hasDirectoryPath {
            contents[file.path.replacingOccurrences(of: directory.path, with: "")] = data
        }
    }
    return contents
}

extension HostileInputCLITests {
    @Test("a checkpoint whose checkpoint.json or tensors are impossible is refused on resume and eval, naming field or tensor")
    func impossibleCheckpoints() throws {
        let run = scratchDirectory("impossible")
        let first = try runBatchAugDist(ranks: 2, Self.base + ["--output", run.path])
        #expect(first.status == 0, "\(first)")
        let pristine = try treeContents(run)
        let cases: [(String, (inout CheckpointInfo) -> Void, (inout [String: [Float]]) -> Void, [String])] = [
            ("epoch -5", { $0.epoch = -5 }, { _ in }, ["\"epoch\": -5; expected 0 to 10"]),
            ("step -1", { $0.step = -1 }, { _ in }, ["\"step\": -1; expected 2"]),
            ("step_in_epoch 1000000", { $0.extra["step_in_epoch"] = .integer(1_000_000) }, { _ in },
             ["\"step_in_epoch\": 1000000; expected 0 to 77 (epoch 0 has 78 steps)"]),
            ("ranks 0", { $0.ranks = 0 }, { _ in }, ["\"ranks\": 0; expected the number of ranks that wrote it"]),
            ("NaN weight", { _ in }, { $0["fc1.weight"]![7] = .nan }, ["tensor \"fc1.weight\" holds nan at element 7"]),
            ("infinite momentum", { _ in }, { $0["momentum/fc2.bias"]![0] = .infinity }, ["tensor \"momentum/fc2.bias\" holds inf"]),
            ("negative variance", { _ in }, {
                // The mean over ranks (what eval reads) and rank 1's own (what a resume reads).
                $0["bn1.running_var"]![3] = -1
                $0["rank1/bn1.running_var"]![3] = -1
            }, ["bn1.running_var\" holds -1.0", "negative"]),
        ]
        for (name, info, tensors, expected) in cases {
            let copy = scratchDirectory("impossible-\(name.replacingOccurrences(of: " ", with: "-"))")
            try FileManager.default.copyItem(at: run, to: copy)
            try rewriteCheckpoint(copy, info: info, tensors: tensors)
            let before = try treeContents(copy)
            try expectRefused(ranks: 2, ["train", "--resume", copy.path], naming: ["--resume"] + expected)
            #expect(try treeContents(copy).filter { !$0.key.hasSuffix(".lock") } == before.filter { !$0.key.hasSuffix(".lock") },
                    "\(name): a refused resume changes nothing")
            if name != "ranks 0" && !name.hasPrefix("infinite") {
                let isTensor = name.contains("weight") || name.contains("variance")
                if isTensor {
                    try expectRefused(ranks: 2, ["eval", "--checkpoint", copy.path], naming: ["--checkpoint"] + expected)
                }
            }
        }
        // checkpoint.json edited by hand, its checksum not: the checksum refuses it.
        let edited = scratchDirectory("impossible-unsigned")
        try FileManager.default.copyItem(at: run, to: edited)
        let info = edited.appendingPathComponent("checkpoint/checkpoint.json")
        let text = try String(contentsOf: info, encoding: .utf8).replacingOccurrences(of: "\"epoch\" : 0", with: "\"epoch\" : -5")
        try Data(text.utf8).write(to: info)
        try expectRefused(ranks: 2, ["train", "--resume", edited.path], naming: ["--resume", "checkpoint.json has SHA-256"])
        try expectRefused(ranks: 2, ["eval", "--checkpoint", edited.path], naming: ["--checkpoint", "checkpoint.json has SHA-256"])
        #expect(try treeContents(run) == pristine)
    }
}

extension HostileInputCLITests {
    @Test("two runs started on one --output: the second is refused within seconds naming the holder, the first completes")
    func concurrentRuns() async throws {
        let shared = scratchDirectory("shared")
        let arguments = ["train", "--model", "mlp", "--epochs", "3", "--train-samples", "5120", "--output", shared.path]
        let first = Task.detached { try runBatchAugDist(ranks: 2, arguments) }
        // The second starts once the first holds the directory (its config.json is written under the
        // lock). The holder (the pid the lock file names) is stopped meanwhile, so that the overlap
        // does not depend on the first run outlasting the second's start-up on a fast host.
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: shared.appendingPathComponent("config.json").path) && Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let holder = try String(contentsOf: shared.appendingPathComponent(".lock"), encoding: .utf8)
        let pid = holder.split(separator: " ").dropFirst().first.flatMap { pid_t($0) }
        try #require(pid != nil && kill(pid!, SIGSTOP) == 0, "the first run holds the lock: \(holder)")
        do {
            defer { kill(pid!, SIGCONT) }
            try expectRefused(ranks: 2, arguments, naming: ["--output \(shared.path) is in use by another run",
                                                            "process \(pid!) on "], within: 20)
        }
        let outcome = try await first.value
        #expect(outcome.status == 0, "\(outcome)")
        // Complete files: a row per epoch, every metrics line whole, a checkpoint of the end.
        #expect(try resultRows(shared).map { $0["epoch"] } == ["0", "1", "2"])
        let lines = try String(contentsOf: shared.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.filter { $0.contains("\"type\":\"epoch\"") }.count == 3)
        for line in lines { #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "\(line)") }
        #expect(try CheckpointStore.latest(in: shared).info.epoch == 3)

        // A lock file left by a process that died (kill -9 leaves one) is no obstacle: only a held lock counts.
        let stale = scratchDirectory("stale")
        try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: true)
        try Data("process 999999 on elsewhere, since 2020-01-01T00:00:00Z\n".utf8).write(to: stale.appendingPathComponent(".lock"))
        let after = try runBatchAugDist(ranks: 2, Self.base + ["--output", stale.path])
        #expect(after.status == 0, "\(after)")
    }
}

extension HostileInputCLITests {
    @Test("--resume on a run killed before its first checkpoint starts it again with its recorded configuration, saying so")
    func deadEnd() throws {
        let run = scratchDirectory("dead-end")
        let first = try runBatchAugDist(ranks: 2, Self.base + ["--copies", "2", "--seed", "7", "--output", run.path])
        #expect(first.status == 0, "\(first)")
        // What a run killed before its first checkpoint leaves: its files, no checkpoint.
        try FileManager.default.removeItem(at: run.appendingPathComponent("checkpoint"))
        try expectRefused(ranks: 2, Self.base + ["--output", run.path], naming: ["already holds a run", "--resume"])
        let again = try runBatchAugDist(ranks: 2, ["train", "--resume", run.path, "--max-steps", "3"])
        #expect(again.status == 0 && again.stdout.contains("the run stopped before its first checkpoint; starting it again "
                                                           + "from the beginning with its recorded configuration"), "\(again)")
        let info = try CheckpointStore.latest(in: run).info
        #expect(info.step == 3 && info.configuration.objectValue?["copies"] == .integer(2)
                && info.configuration.objectValue?["seed"] == .integer(7) && (info.configuration.objectValue?["resume"] ?? .null) == .null, "\(info)")
        #expect(try resultRows(run).map { $0["step"] } == ["3"], "one row, of the new run")
        // Another configuration than the recorded one is refused, as for any resume.
        try FileManager.default.removeItem(at: run.appendingPathComponent("checkpoint"))
        try expectRefused(ranks: 2, ["train", "--resume", run.path, "--copies", "4"], naming: ["--copies", "4", "recorded"])
    }
}

extension HostileInputCLITests {
    @Test("values that cannot mean anything are refused naming the flag or file and what was expected")
    func meaninglessValues() throws {
        let directory = scratchDirectory("meaningless")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let big = directory.appendingPathComponent("big.json")
        try Data(#"{"epochs": 99999999999999999999999}"#.utf8).write(to: big)
        let output = directory.appendingPathComponent("run").path
        let cases: [([String], [String])] = [
            (["--output", ""], ["--output must name a directory"]),
            (["--warmup-epochs", "1e300"], ["--warmup-epochs", "longer than the run's 10 epochs"]),
            (["--lr", "nan"], ["--lr must be a finite number, got nan"]),
            (["--momentum", "inf"], ["--momentum must be a finite number"]),
            (["--weight-decay=-inf"], ["--weight-decay must be a finite number"]),
            (["--warmup-epochs", "nan"], ["--warmup-epochs must be a finite number"]),
            (["--config", big.path], ["--epochs cannot be 1e+23", "out of range", big.path]),
            (["--config", directory.path], ["--config", "is a directory; expected a JSON file of options"]),
        ]
        for (arguments, expected) in cases {
            let outputArguments = arguments.first == "--output" ? [] : ["--output", output]
            let message = try expectRefused(ranks: 2, Self.base + outputArguments + arguments, naming: expected, within: 20)
            #expect(!message.contains("EncodingError") && !message.contains("DecodingError") && !message.contains("NSCocoaErrorDomain"),
                    "\(message)")
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test("eval of a checkpoint written inside an epoch says where in the epoch")
    func evalInsideAnEpoch() throws {
        let run = scratchDirectory("mid-epoch")
        let train = try runBatchAugDist(ranks: 2, Self.base + ["--output", run.path])
        #expect(train.status == 0, "\(train)")
        let eval = try runBatchAugDist(ranks: 2, ["eval", "--checkpoint", run.path])
        #expect(eval.status == 0 && eval.stdout.contains("mlp in epoch 0, after 2 of its steps (step 2)")
                && !eval.stdout.contains("epoch -1"), "\(eval)")
    }
}

import Checkpoints
import Foundation
import Testing
import TestSupport

/// The checkpoint's tensors by name (parameters, "momentum/…", running statistics).
func checkpointTensors(_ run: URL) throws -> [String: [Float]] {
    let checkpoint = try CheckpointStore.latest(in: run)
    var tensors: [String: [Float]] = [:]
    for tensor in checkpoint.tensors { tensors[tensor.name] = try tensor.values(as: Float.self) }
    return tensors
}

/// results.csv as one dictionary per row.
func resultRows(_ run: URL) throws -> [[String: String]] {
    let lines = try String(contentsOf: run.appendingPathComponent("results.csv"), encoding: .utf8)
        .split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    guard let header = lines.first else { return [] }
    return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
}

/// `train` as users run it: under mpirun with 1, 2 and 3 ranks (oversubscribed), on the synthetic
/// set with small models and few steps.
@Suite("train under mpirun", .serialized)
struct TrainCLITests {
    /// Small and quick: the MLP (batch norm and a dropout site), 8 steps.
    static let quick = ["train", "--model", "mlp", "--batch-size", "96", "--max-steps", "8", "--log-every", "4"]
    /// Two epochs of 19 steps (10,000 synthetic samples / 512) on 2 ranks, a step record every 4 steps.
    static let twoEpochs = ["train", "--model", "mlp", "--epochs", "2", "--batch-size", "512", "--copies", "2",
                            "--dropout", "0.1", "--ghost-batch-size", "128", "--log-every", "4"]

    @Test("every rank ends with the same parameters; the output directory holds what was promised",
          arguments: [1, 2, 3])
    func sameParameters(ranks: Int) throws {
        let output = scratchDirectory("same")
        let outcome = try runBatchAugDist(ranks: ranks, Self.quick + ["--output", output.path, "--dropout", "0.2",
                                                                      "--copies", "2", "--debug-rank-checksums"])
        #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
        let checksums = outcome.stdout.split(separator: "\n").filter { $0.hasPrefix("rank ") && $0.contains("checksum") }
            .map { $0.split(separator: " ").last.map(String.init) ?? "" }
        #expect(checksums.count == ranks, "\(outcome)")
        #expect(Set(checksums).count == 1, "\(checksums)")

        // config.json: the resolved configuration, the ranks and versions.
        let config = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: output.appendingPathComponent("config.json"))) as? [String: Any])
        let configuration = try #require(config["configuration"] as? [String: Any])
        #expect(configuration["copies"] as? Int == 2 && configuration["model"] as? String == "mlp")
        #expect((config["job"] as? [String: Any])?["ranks"] as? Int == ranks)
        #expect((config["versions"] as? [String: Any])?["mpi"] as? String != nil)

        // results.csv: one row (max-steps stops inside epoch 0) with every promised column.
        let rows = try resultRows(output)
        #expect(rows.count == 1)
        for column in ["epoch", "step", "lr", "batch_size", "copies", "train_loss", "train_error", "val_loss", "val_error",
                       "grad_norm", "epoch_seconds", "images_per_second", "comm_seconds", "data_seconds"] {
            #expect(rows.first?[column]?.isEmpty == false, "column \(column)")
        }
        #expect(rows.first?["step"] == "8" && rows.first?["copies"] == "2")

        // metrics.jsonl: a step record every 4 steps and an epoch record.
        let records = try String(contentsOf: output.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        let steps = records.filter { $0["type"] as? String == "step" }
        #expect(steps.map { $0["step"] as? Int } == [4, 8])
        for key in ["epoch", "loss", "error", "lr", "grad_norm", "images_per_second", "step_seconds", "comm_seconds"] {
            #expect(steps.allSatisfy { $0[key] != nil }, "step records lack \(key)")
        }
        #expect(records.filter { $0["type"] as? String == "epoch" }.count == 1)

        // The checkpoint: weights, momentum and running statistics, in safetensors, 8 steps in.
        let checkpoint = try CheckpointStore.latest(in: output)
        #expect(checkpoint.info.step == 8 && checkpoint.info.ranks == ranks)
        let names = checkpoint.tensors.map(\.name)
        #expect(names.contains { $0.hasPrefix("momentum/") })
        #expect(names.contains { $0.contains("running_mean") || $0.contains("mean") })
    }

    @Test("resuming, inside an epoch or at its end, gives bit-identical parameters to an uninterrupted run")
    func resumeIsExact() throws {
        let common = Self.twoEpochs
        let whole = scratchDirectory("whole"), pieces = scratchDirectory("pieces")
        let uninterrupted = try runBatchAugDist(ranks: 2, common + ["--output", whole.path])
        #expect(uninterrupted.status == 0, "\(uninterrupted)")
        // 19 steps per epoch (10,000 / 512): stop at the end of epoch 0, then inside epoch 1.
        let first = try runBatchAugDist(ranks: 2, common + ["--output", pieces.path, "--max-steps", "19"])
        #expect(first.status == 0, "\(first)")
        let second = try runBatchAugDist(ranks: 2, ["train", "--resume", pieces.path, "--max-steps", "27"])
        #expect(second.status == 0 && second.stdout.contains("resuming at epoch 1 step 0"), "\(second)")
        let third = try runBatchAugDist(ranks: 2, ["train", "--resume", pieces.path])
        #expect(third.status == 0 && third.stdout.contains("resuming at epoch 1 step 8"), "\(third)")

        let a = try checkpointTensors(whole), b = try checkpointTensors(pieces)
        #expect(a.keys.sorted() == b.keys.sorted())
        let differing = a.keys.filter { a[$0] != b[$0] }.sorted()
        #expect(differing.isEmpty, "tensors that differ: \(differing)")
        let finalStep = try CheckpointStore.latest(in: pieces).info.step
        #expect(finalStep == 38)
        // The resumed run's results.csv has each epoch once.
        let rows = try resultRows(pieces)
        #expect(rows.map { $0["epoch"] } == ["0", "1"])
        // metrics.jsonl: the same step records as the uninterrupted run's, those logged before a
        // checkpoint inside an epoch included (timings aside, they are the same figures).
        let steps = try stepRecords(whole)
        #expect(steps.count == 10, "\(steps)")
        #expect(try stepRecords(pieces) == steps)
    }

    @Test("--eval-every-steps evaluates the test set inside epochs without changing what is trained")
    func evaluationEverySteps() throws {
        // 19 steps per epoch (10,000 / 512), 2 epochs: the test set after steps 5, 10, 15, 20, 25,
        // 30 and 35 in the step records, and after steps 19 and 38 in the epoch records as always.
        let common = Self.twoEpochs
        let plain = scratchDirectory("plain"), evaluated = scratchDirectory("evaluated")
        let a = try runBatchAugDist(ranks: 2, common + ["--output", plain.path])
        let b = try runBatchAugDist(ranks: 2, common + ["--output", evaluated.path, "--eval-every-steps", "5"])
        #expect(a.status == 0 && b.status == 0, "\(a)\n\(b)")
        let x = try checkpointTensors(plain), y = try checkpointTensors(evaluated)
        #expect(!x.isEmpty && x.keys.sorted() == y.keys.sorted())
        #expect(x.keys.filter { x[$0] != y[$0] }.isEmpty, "evaluating changed the trained tensors")

        let records = try String(contentsOf: evaluated.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        let steps = records.filter { $0["type"] as? String == "step" }
        let evaluatedSteps = steps.filter { $0["val_error"] != nil }
        #expect(evaluatedSteps.map { $0["step"] as? Int } == [5, 10, 15, 20, 25, 30, 35])
        for record in evaluatedSteps {
            let error = try #require(record["val_error"] as? Double), loss = try #require(record["val_loss"] as? Double)
            #expect((0 ... 1).contains(error) && loss.isFinite && loss > 0, "\(record)")
        }
        // The other step records (every 4 steps, the epochs' last) have no test figures; the epoch
        // records have the same ones as the run without --eval-every-steps.
        // (Step 35 is both a logged step, the 16th of epoch 1, and an evaluated one: one record.)
        #expect(steps.filter { $0["val_error"] == nil }.map { $0["step"] as? Int } == [4, 8, 12, 16, 19, 23, 27, 31, 38],
                "\(steps.map { $0["step"] ?? "?" })")
        let plainRows = try resultRows(plain), evaluatedRows = try resultRows(evaluated)
        #expect(plainRows.map { $0["val_error"] } == evaluatedRows.map { $0["val_error"] } && plainRows.count == 2)
        // TensorBoard (read by the tensorboard package) has them at their steps, as scalars of their own.
        let scalars = try tensorboardScalars(in: evaluated.appendingPathComponent("tensorboard"))
        #expect(scalars["step/val_error"]?.map(\.step) == [5, 10, 15, 20, 25, 30, 35])
        // (Scalars are float32: compared as such, the last digit of a JSON double parse aside.)
        #expect(scalars["step/val_error"]?.map { Float($0.value) } == evaluatedSteps.map { Float($0["val_error"] as? Double ?? .nan) })
        #expect(scalars["step/val_loss"]?.map(\.step) == [5, 10, 15, 20, 25, 30, 35])
        // The console's progress line after an evaluated step says so.
        #expect(b.stdout.split(separator: "\n").contains { $0.contains("step 5/19") && $0.contains("test loss") }, "\(b.stdout)")
    }

    /// The step records of a run's metrics.jsonl without their timings: [step, epoch, loss, error, lr, grad_norm].
    func stepRecords(_ run: URL) throws -> [[Double]] {
        let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").compactMap { line -> [Double]? in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard object["type"] as? String == "step" else { return nil }
            return try ["step", "epoch", "loss", "error", "lr", "grad_norm"].map { try #require(object[$0] as? Double) }
        }
    }

    /// With `--allreduce ring`: `--simulate-ranks` adds in the ring's order, and the default `auto`
    /// may choose MPI_Allreduce for a bucket at 3 ranks from its start-up timings (another order,
    /// other last bits; at 2 ranks both add the same two terms). Without it this failed in a CI run
    /// where auto had chosen MPI.
    @Test("--simulate-ranks K in one process trains what mpirun -np K trains, bit for bit", arguments: [2, 3])
    func simulatedRanks(ranks: Int) throws {
        let common = ["train", "--model", "cnn", "--batch-size", "96", "--copies", "2", "--ghost-batch-size", "32",
                      "--dropout", "0.2", "--max-steps", "6", "--log-every", "100", "--eval-every", "0",
                      "--allreduce", "ring"]
        let real = scratchDirectory("np\(ranks)"), simulated = scratchDirectory("sim\(ranks)")
        let r = try runBatchAugDist(ranks: ranks, common + ["--output", real.path])
        let s = try runBatchAugDist(ranks: nil, common + ["--output", simulated.path, "--simulate-ranks", "\(ranks)"])
        #expect(r.status == 0 && s.status == 0, "\(r)\n\(s)")
        let a = try checkpointTensors(real), b = try checkpointTensors(simulated)
        #expect(a.keys.sorted() == b.keys.sorted() && a.keys.contains { $0.hasPrefix("rank\(ranks - 1)/") })
        let differing = a.keys.filter { a[$0]!.map(\.bitPattern) != b[$0]!.map(\.bitPattern) }.sorted()
        #expect(differing.isEmpty, "parameters, momentum and every rank's statistics; these differ: \(differing)")
        #expect(try resultRows(real).map { $0["train_loss"] } == resultRows(simulated).map { $0["train_loss"] })
        if ranks == 2 {
            // The comparison can fail: one rank (other shards, batch norm over the whole batch) trains something else.
            let single = scratchDirectory("np1")
            let o = try runBatchAugDist(ranks: nil, common + ["--output", single.path])
            #expect(o.status == 0, "\(o)")
            #expect(try checkpointTensors(single)["fc.weight"] != a["fc.weight"])
        }
    }

    @Test("the regime changes learning rate, batch size and copies at its epochs; adaptation stretches it")
    func regime() throws {
        let output = scratchDirectory("regime")
        let outcome = try runBatchAugDist(ranks: 2, [
            "train", "--model", "mlp", "--epochs", "3", "--batch-size", "1000", "--eval-every", "0", "--log-every", "5",
            "--regime", "1:lr=0.05,batch-size=500;2:copies=2,momentum=0.8", "--output", output.path,
        ])
        #expect(outcome.status == 0, "\(outcome)")
        let rows = try resultRows(output)
        #expect(rows.map { $0["lr"] } == ["0.1", "0.05", "0.05"])
        #expect(rows.map { $0["batch_size"] } == ["1000", "500", "500"])
        #expect(rows.map { $0["copies"] } == ["1", "1", "2"])
        #expect(rows.map { $0["step"] } == ["10", "30", "50"], "10 steps, then 20 per epoch")
        // Only the last epoch was evaluated (--eval-every 0).
        #expect(rows.map { $0["val_loss"]?.isEmpty } == [true, true, false])

        let adapted = scratchDirectory("adapted")
        let stretched = try runBatchAugDist(ranks: 2, [
            "train", "--model", "mlp", "--epochs", "2", "--batch-size", "2000", "--eval-every", "0",
            "--regime", "1:lr=0.01", "--regime-adaptation", "2", "--output", adapted.path,
        ])
        #expect(stretched.status == 0, "\(stretched)")
        let adaptedRows = try resultRows(adapted)
        #expect(adaptedRows.map { $0["lr"] } == ["0.1", "0.1", "0.01", "0.01"])
    }

    @Test("a non-finite loss stops every rank with the step number and keeps the last good checkpoint")
    func nonFiniteLoss() throws {
        let output = scratchDirectory("nan")
        let outcome = try runBatchAugDist(ranks: 2, [
            "train", "--model", "mlp", "--epochs", "2", "--batch-size", "1000", "--regime", "1:lr=1e9",
            "--output", output.path,
        ], timeout: 60)
        #expect(outcome.status != 0 && !outcome.timedOut, "\(outcome)")
        // Epoch 0 is steps 1…10; the loss can only break in epoch 1, at steps 11…20.
        let step = outcome.stderr.firstMatch(of: /at step (\d+) \(epoch 1/).flatMap { Int($0.1) }
        #expect(step.map { (11 ... 20).contains($0) } == true, "\(outcome)")
        #expect(outcome.stderr.contains("last good state"), "\(outcome)")
        let checkpoint = try CheckpointStore.latest(in: output)
        #expect(checkpoint.info.epoch == 1 && checkpoint.info.step == 10)
        let values = try checkpointTensors(output).values.flatMap { $0 }
        #expect(values.allSatisfy { $0.isFinite })
    }

    @Test("eval reports the saved model's test loss and error, whatever the number of ranks", arguments: [1, 3])
    func evaluation(ranks: Int) throws {
        let output = scratchDirectory("eval")
        let training = try runBatchAugDist(ranks: 2, Self.quick + ["--output", output.path])
        #expect(training.status == 0, "\(training)")
        let row = try #require(try resultRows(output).last)
        let outcome = try runBatchAugDist(ranks: ranks, ["eval", "--checkpoint", output.path, "--json"])
        #expect(outcome.status == 0, "\(outcome)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(report["samples"] as? Int == 2_000)
        // The same model and statistics; only the order of the sums and the pass sizes differ.
        let error = try #require(report["test_error"] as? Double), loggedError = try #require(Double(row["val_error"] ?? ""))
        #expect(abs(error - loggedError) <= 1.0 / 2_000, "eval \(error), training \(loggedError)")
        let loss = try #require(report["test_loss"] as? Double), logged = try #require(Double(row["val_loss"] ?? ""))
        #expect(abs(loss - logged) < 1e-6 * max(1, logged), "eval \(loss), training \(logged)")
    }
}

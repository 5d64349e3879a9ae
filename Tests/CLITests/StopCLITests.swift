import Checkpoints
import Foundation
import Testing
import TestSupport

/// Stopping on a signal without losing work, and `--resume-or-start`, under mpirun on this machine.
@Suite("train stops on a signal and continues", .serialized)
struct StopCLITests {
    /// About 600 steps of the MLP in three epochs: long enough to be signalled mid-epoch.
    static let run = ["train", "--model", "mlp", "--epochs", "3", "--train-samples", "6400", "--batch-size", "32",
                      "--log-every", "1", "--eval-every", "0"]

    /// Starts `arguments` under mpirun -np 2 on another thread; waits until the run has logged a
    /// step of its second epoch; sends `signal` to `target(output)`'s processes; returns the outcome.
    func signalMidRun(_ output: URL, signal: Int32, target: (String) -> [Int32]) throws -> ProcessOutcome {
        let finished = Finished()
        Thread {
            finished.set(try? runBatchAugDist(ranks: 2, Self.run + ["--resume-or-start", output.path], timeout: 300))
        }.start()
        let metrics = output.appendingPathComponent("metrics.jsonl")
        var waited = 0.0
        while waited < 240 && !finished.isSet {
            let text = (try? String(contentsOf: metrics, encoding: .utf8)) ?? ""
            if text.contains("\"type\":\"step\",\"epoch\":1") { break }
            Thread.sleep(forTimeInterval: 0.05)
            waited += 0.05
        }
        let targets = target(output.path)
        try #require(!targets.isEmpty && !finished.isSet, "nothing to signal (the run ended or never started)")
        for pid in targets { kill(pid, signal) }
        return try #require(finished.wait(seconds: 120), "the run did not end within 120 s of the signal")
    }

    func model(_ run: URL) throws -> String {
        SHA256.hexDigest(of: [UInt8](try Data(contentsOf: run.appendingPathComponent("checkpoint/model.safetensors"))))
    }

    /// (mpirun forwards SIGUSR1 to every rank; here the ranks are signalled directly, because a
    /// process this test starts inherits a signal mask that blocks SIGUSR1 in mpirun itself.)
    @Test("SIGUSR1 to every rank: all stop after the same step with a checkpoint, exit status 75 and how to continue; the same command again finishes bit-identical to an uninterrupted run")
    func usr1ToMPIRun() throws {
        let reference = scratchDirectory("stop-reference"), output = scratchDirectory("stop-usr1")
        let uninterrupted = try runBatchAugDist(ranks: 2, Self.run + ["--resume-or-start", reference.path], timeout: 300)
        #expect(uninterrupted.status == 0, "\(uninterrupted)")

        let stopped = try signalMidRun(output, signal: SIGUSR1) { rankProcesses(rank: 0, marker: $0) + rankProcesses(rank: 1, marker: $0) }
        #expect(stopped.status == 75, "\(stopped)")
        let messages = stopped.stderr.split(separator: "\n").filter { $0.hasPrefix("batchaug-dist:") }
        #expect(messages.count == 1 && messages[0].contains("stopped by SIGUSR1 after step ")
                && messages[0].contains("train --resume \(output.path)"), "\(stopped)")
        let info = try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent(
            "checkpoint/checkpoint.json"))) as? [String: Any]
        let stepInEpoch = (info?["extra"] as? [String: Any])?["step_in_epoch"] as? Int
        #expect(info?["epoch"] as? Int == 1 && (stepInEpoch ?? 0) > 0, "stopped inside epoch 1: \(String(describing: info))")

        let again = try runBatchAugDist(ranks: 2, Self.run + ["--resume-or-start", output.path], timeout: 300)
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.contains("resuming at epoch 1 step"), "\(again)")
        #expect(try model(output) == model(reference), "the stopped and continued run does not end where the uninterrupted one does")
    }

    @Test("SIGTERM to one rank only stops both after the same step (the ranks agree in the step's all-reduce)")
    func termToOneRank() throws {
        let output = scratchDirectory("stop-term-one")
        let stopped = try signalMidRun(output, signal: SIGTERM) { rankProcesses(rank: 1, marker: $0) }
        #expect(stopped.status == 75, "\(stopped)")
        // Rank 0 did not receive it and says so.
        #expect(stopped.stderr.contains("stopped by a stop signal (sent to another rank) after step "), "\(stopped)")
        #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent("checkpoint/model.safetensors").path))
    }

    @Test("--resume-or-start on an empty or missing directory starts a run there; with --output or --resume it is refused; --stop-signals takes signal names; refusals exit with status 2")
    func options() throws {
        let fresh = scratchDirectory("resume-or-start-fresh")
        let started = try runBatchAugDist(ranks: nil, ["train", "--model", "mlp", "--max-steps", "2", "--eval-every", "0",
                                                       "--resume-or-start", fresh.path])
        #expect(started.status == 0 && !started.stdout.contains("resuming"), "\(started)")
        #expect(FileManager.default.fileExists(atPath: fresh.appendingPathComponent("config.json").path))

        let both = try runBatchAugDist(ranks: 2, ["train", "--resume-or-start", fresh.path, "--output", fresh.path])
        #expect(both.status == 2 && both.stderr.contains("--resume-or-start") && both.stderr.contains("--output"), "\(both)")
        let signals = try runBatchAugDist(ranks: 2, ["train", "--max-steps", "1", "--stop-signals", "TERM,KILL"])
        #expect(signals.status == 2 && signals.stderr.contains("--stop-signals") && signals.stderr.contains("KILL"), "\(signals)")
        let timeout = try runBatchAugDist(ranks: 2, ["train", "--max-steps", "1", "--collective-timeout=-1"])
        #expect(timeout.status == 2 && timeout.stderr.contains("--collective-timeout"), "\(timeout)")
    }
}

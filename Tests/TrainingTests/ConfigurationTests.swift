import Checkpoints
import Foundation
import JSON
import Testing
import TestSupport
import Training

/// How the configuration is put together (defaults ← --config file ← flags) and checked before
/// any work starts. Every problem is named by its option.
@Suite("training configuration")
struct ConfigurationTests {
    private func writeFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("batchaug-config-\(UUID().uuidString).json").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func resolved(file: String? = nil, _ options: [String: JSONValue] = [:]) throws -> TrainingConfiguration {
        try TrainingLauncher.resolve(configurationFile: file, options: options).configuration
    }

    @Test("with nothing given, the defaults hold and an output directory is named after the run")
    func defaults() throws {
        let c = try resolved()
        #expect(c.dataset == "synthetic" && c.model == "cnn")
        #expect(c.copies == 1 && c.batchSize == 128 && c.ghostBatchSize == nil)
        #expect(c.regime == "", "--lr must be what trains unless a regime says otherwise")
        #expect(c.output?.hasPrefix("runs/cnn-synthetic-") == true, "\(String(describing: c.output))")
        try c.validate(ranks: 2)
    }

    @Test("a default output directory that exists already (a run started in the same second) is not reused")
    func defaultOutputIsFresh() {
        let taken: Set<String> = ["runs/cnn-synthetic-20261206-050528", "runs/cnn-synthetic-20261206-050528-2"]
        #expect(TrainingLauncher.unused("runs/cnn-synthetic-20261206-050528", exists: taken.contains)
                    == "runs/cnn-synthetic-20261206-050528-3")
        #expect(TrainingLauncher.unused("runs/x", exists: taken.contains) == "runs/x")
    }

    @Test("flags override the file, the file overrides the defaults")
    func precedence() throws {
        let file = try writeFile(#"{"model": "mlp", "copies": 4, "lr": 0.05, "regime": "0:lr=0.05;3:copies=8"}"#)
        let c = try resolved(file: file, ["copies": .integer(2), "epochs": .integer(7)])
        #expect(c.model == "mlp", "from the file")
        #expect(c.copies == 2, "the flag wins over the file")
        #expect(c.learningRate == 0.05 && c.regime == "0:lr=0.05;3:copies=8")
        #expect(c.epochs == 7)
        #expect(c.weightDecay == TrainingConfiguration().weightDecay, "untouched keys keep their defaults")
    }

    @Test("a run's config.json repeats the run when given to --config")
    func configJSONRoundTrip() throws {
        var original = TrainingConfiguration()
        original.model = "resnet8"
        original.copies = 3
        original.seed = UInt64.max - 5   // above 2^53: must survive as an integer, not a Double
        original.output = "/tmp/somewhere"
        let wrapped = "{\"configuration\": \(String(decoding: original.json(), as: UTF8.self)), \"job\": {\"ranks\": 2}}"
        let c = try resolved(file: try writeFile(wrapped))
        #expect(c == original)
    }

    @Test("64-bit seeds pass through flags, a file and config.json exactly", arguments: [0, 1 << 53 + 1, UInt64.max] as [UInt64])
    func exactSeeds(seed: UInt64) throws {
        let fromFlag = try resolved(["seed": try JSONValue(encoding: seed)])
        #expect(fromFlag.seed == seed)
        let file = try writeFile("{\"seed\": \(seed)}")
        #expect(try resolved(file: file).seed == seed)
        let written = String(decoding: fromFlag.json(), as: UTF8.self)
        #expect(written.contains("\"seed\" : \(seed)"), "\(written)")
        #expect(try resolved(file: try writeFile(written)).seed == seed)
        #expect { _ = try resolved(file: try writeFile(#"{"seed": -1}"#)) } throws: { "\($0)".hasPrefix("--seed") }
    }

    @Test("an option set to null is unset: its default")
    func nullIsUnset() throws {
        let file = try writeFile(#"{"copies": 4, "ghost-batch-size": 32}"#)
        let c = try resolved(file: file, ["copies": .null, "ghost-batch-size": .null])
        #expect(c.copies == 1 && c.ghostBatchSize == nil)
    }

    @Test("an unknown key in the file is an error that suggests the right name")
    func unknownKey() throws {
        let file = try writeFile(#"{"learning-rate": 0.1}"#)
        #expect {
            _ = try resolved(file: file)
        } throws: { error in
            let text = "\(error)"
            return text.contains("--learning-rate") && text.contains("not an option") && text.contains(file)
        }
    }

    @Test("a value of the wrong type names the key and the file")
    func wrongType() throws {
        let file = try writeFile(#"{"epochs": "ten"}"#)
        #expect { _ = try resolved(file: file) } throws: { "\($0)".contains("epochs") && "\($0)".contains(file) }
        #expect { _ = try resolved(file: "/nonexistent/x.json") } throws: { "\($0)".contains("--config") }
    }

    @Test("resuming from a directory without a checkpoint names --resume")
    func resumeWithoutCheckpoint() throws {
        let empty = scratchDirectory("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        #expect { _ = try resolved(["resume": .string(empty.path)]) } throws: { "\($0)".hasPrefix("--resume") }
    }

    /// Each bad value, the ranks it runs on, and the option its message must name.
    static let invalid: [(change: @Sendable (inout TrainingConfiguration) -> Void, ranks: Int, option: String, detail: String)] = [
        ({ $0.batchSize = 100 }, 3, "--batch-size", "not divisible by the 3 ranks"),
        ({ $0.regime = "2:batch-size=130" }, 4, "--batch-size", "from epoch 2"),
        ({ $0.ghostBatchSize = 48 }, 2, "--ghost-batch-size", "64 images"),
        ({ $0.copies = 3; $0.ghostBatchSize = 128 }, 2, "--ghost-batch-size", "copies 3"),
        ({ $0.copies = 0 }, 1, "--copies", "at least 1"),
        ({ $0.model = "resnet21" }, 1, "--model", "resnet21"),
        ({ $0.dataset = "imagenet" }, 1, "--dataset", "imagenet"),
        ({ $0.augment = "crop,spin" }, 1, "--augment", "spin"),
        ({ $0.regime = "0:lr=0.1;0:lr=0.2" }, 1, "--regime", "epoch 0 already"),
        ({ $0.regime = "0:speed=2" }, 1, "--regime", "speed"),
        ({ $0.learningRateScaling = "cubic" }, 1, "--lr-scaling", "cubic"),
        ({ $0.allreduce = "tree" }, 1, "--allreduce", "tree"),
        ({ $0.simulateRanks = 2 }, 2, "--simulate-ranks", "without mpirun"),
        ({ $0.momentum = 1 }, 1, "--momentum", "[0, 1)"),
        ({ $0.batchSize = 20_000 }, 1, "--batch-size", "shard"),
    ]

    @Test("every bad value is refused before any work, naming its option", arguments: 0 ..< invalid.count)
    func refused(index: Int) throws {
        let (change, ranks, option, detail) = Self.invalid[index]
        var c = TrainingConfiguration()
        change(&c)
        #expect {
            try c.validate(ranks: ranks)
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix(option) && text.contains(detail)
        }
    }

    @Test("the same batch on more ranks, with ghost batches that divide it, is accepted")
    func accepted() throws {
        var c = TrainingConfiguration()
        c.batchSize = 96
        c.copies = 4
        c.ghostBatchSize = 32
        try c.validate(ranks: 3)
        c.simulateRanks = 3
        try c.validate(ranks: 1)
    }
}

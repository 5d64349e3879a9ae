import Augmentation
import Foundation
import JSON
import Testing
import TestSupport
import Training

/// The flags of `train` as they reach the configuration: every flag sets its option, 64-bit seeds
/// survive flags, config.json and `--config` exactly, and the help shows the configuration's defaults.
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
            ("checkpoint-every", "2", 2), ("eval-every", "3", 3), ("eval-every-steps", "5", 5), ("log-every", "7", 7), ("max-steps", "1", 1),
            ("simulate-ranks", "2", 2), ("bucket-size", "64K", "64K"), ("overlap", "off", "off"),
            ("stop-signals", "USR2", "USR2"), ("collective-timeout", "30", 30), ("max-image-pixels", "1000000", 1_000_000),
            ("cache-decoded", "0", "0"),
        ]
        let arguments = given.flatMap { ["--" + $0.flag] + ($0.value.map { [$0] } ?? []) }
        let run = try runBatchAugDist(ranks: nil, ["train"] + arguments)
        #expect(run.status == 0, "\(run)")
        let recorded = try Self.recordedConfiguration(output)
        for (flag, _, json) in given { #expect(recorded[flag] == json, "--\(flag): \(recorded[flag].map { "\($0)" } ?? "unset")") }
        // Every option the configuration holds has a flag (all but --resume, which needs a checkpoint,
        // --resume-or-start, which stands for --resume or --output, and --size and --val-fraction, which
        // only photographs take and are unset otherwise, are given here).
        #expect(Set(recorded.keys) == Set(given.map(\.flag)), "options without a flag: \(Set(recorded.keys).subtracting(given.map(\.flag)))")
    }

    /// The options of a command's --help and their descriptions, each joined into one line.
    static func helpEntries(_ help: String) -> [(flag: String, text: String)] {
        var entries: [(flag: String, text: String)] = []
        for line in help.components(separatedBy: "OPTIONS:").last!.split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("  -"), let match = text.wholeMatch(of: /--([\w-]+)[\w\/-]*(?: <[^>]+>)?\s*(.*)/) {
                // "--flag <value>   Text…" (the text may start on the next line).
                entries.append((String(match.1), String(match.2)))
            } else if !entries.isEmpty && line.hasPrefix("      ") {
                entries[entries.count - 1].text += " " + text
            }
        }
        return entries.map { ($0.flag, $0.text.trimmingCharacters(in: .whitespaces)) }
    }

    /// A default as a help text or --print-config shows it, for comparing: numbers by value.
    static func same(_ stated: String, _ value: JSONValue) -> Bool {
        switch value {
        case .string(let text): stated == text
        case .bool(let on): stated == (on ? "on" : "off")
        case .integer, .unsignedInteger, .double:
            Double(stated) != nil && Double(stated) == Double((try? value.jsonText()) ?? "")
        default: false
        }
    }

    @Test("train --help shows each option's default as TrainingConfiguration holds it, and the default output directory as train makes it")
    func helpShowsTheDefaults() throws {
        let help = try runBatchAugDist(ranks: nil, ["train", "--help"], timeout: 30)
        #expect(help.status == 0, "\(help)")
        let defaults = try #require(try JSONValue(encoding: TrainingConfiguration()).objectValue)
        let entries = Self.helpEntries(help.stdout)
        #expect(entries.count > 25, "the options were read: \(entries.map(\.flag))")
        // "(default 128)", "(…; default 256K)"; not "(default: the dataset's)", which no value states.
        let stated = entries.compactMap { entry in
            entry.text.firstMatch(of: /\bdefault ([^:;)\s][^;)]*)/).map { (entry.flag, String($0.1).trimmingCharacters(in: .whitespaces)) }
        }
        var checked: [String] = []
        // --size is unset unless the data are photographs; its default is PhotoGeometry's.
        let implied: [String: JSONValue] = ["size": .integer(Int64(PhotoGeometry.defaultSize))]
        for (flag, text) in stated where flag != "output" {
            let value = try #require(defaults[flag] ?? implied[flag], "--\(flag) states a default (\(text)) the configuration does not have")
            #expect(Self.same(text, value), "--\(flag): the help says \(text), the configuration \(value)")
            checked.append(flag)
        }
        #expect(Set(["dataset", "model", "epochs", "batch-size", "copies", "lr", "momentum", "nesterov", "weight-decay",
                     "allreduce", "bucket-size", "seed", "log-every"]).isSubset(of: checked), "\(checked)")
        let model = try #require(defaults["model"]), dataset = try #require(defaults["dataset"])
        #expect(help.stdout.replacingOccurrences(of: "\n", with: " ")
            .contains("With no options it trains the \(Self.text(model)) model on the \(Self.text(dataset)) dataset"), "\(help.stdout)")

        // The output directory a run without --output gets has the form the help states.
        let output = try #require(stated.first { $0.0 == "output" }?.1)
        let printed = try runBatchAugDist(ranks: nil, ["train", "--print-config"], timeout: 30)
        let configuration = try #require(try JSONValue(parsing: Data(printed.stdout.utf8)).objectValue, "\(printed)")
        let made = try #require(configuration["output"].map(Self.text))
        let form = output.replacingOccurrences(of: "<model>", with: Self.text(model))
            .replacingOccurrences(of: "<dataset>", with: Self.text(dataset)).split(separator: "<time>", omittingEmptySubsequences: false)
        #expect(form.count == 2 && made.hasPrefix(form[0]) && made.hasSuffix(form[1])
            && made.dropFirst(form[0].count).dropLast(form[1].count).wholeMatch(of: /\d{8}-\d{6}/) != nil,
                "the help says \(output); train made \(made)")

        // bench scaling times the step training takes: the same gradient buckets by default.
        let scaling = try runBatchAugDist(ranks: nil, ["bench", "scaling", "--help"], timeout: 30)
        let bucket = try #require(Self.helpEntries(scaling.stdout).first { $0.flag == "bucket-size" }?.text)
        #expect(bucket.hasSuffix("(default: \(Self.text(try #require(defaults["bucket-size"]))))"), "\(bucket)")
    }

    /// A JSON string's text (other values as JSON).
    static func text(_ value: JSONValue) -> String {
        if case .string(let text) = value { return text }
        return (try? value.jsonText()) ?? ""
    }

    @Test("--print-config prints the configuration a run would take, the defaults under --config under the flags, and trains nothing")
    func printConfig() throws {
        let file = scratchDirectory("print-config").appendingPathExtension("json")
        try Data(#"{"epochs": 3, "batch-size": 32}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let outcome = try runBatchAugDist(ranks: nil, ["train", "--print-config", "--config", file.path, "--batch-size", "64",
                                                       "--output", "/nonexistent/never-written"], timeout: 30)
        #expect(outcome.status == 0 && outcome.stderr.isEmpty, "\(outcome)")
        let printed = try #require(try JSONValue(parsing: Data(outcome.stdout.utf8)).objectValue, "\(outcome)")
        var expected = try #require(try JSONValue(encoding: TrainingConfiguration()).objectValue)
        (expected["epochs"], expected["batch-size"], expected["output"]) = (3, 64, "/nonexistent/never-written")
        #expect(printed == expected)
        #expect(!FileManager.default.fileExists(atPath: "/nonexistent/never-written"))
        // launch/run reads the default batch from a line of its own.
        let defaults = try runBatchAugDist(ranks: nil, ["train", "--print-config"], timeout: 30)
        #expect(defaults.stdout.contains("\n  \"batch-size\" : \(TrainingConfiguration().batchSize),\n"), "\(defaults)")

        let resumed = try runBatchAugDist(ranks: nil, ["train", "--print-config", "--resume", "/nonexistent"], timeout: 30)
        #expect(resumed.status != 0 && resumed.stderr.contains("--print-config") && resumed.stdout.isEmpty, "\(resumed)")
    }
}

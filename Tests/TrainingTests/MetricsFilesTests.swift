import Collectives
import Foundation
import RunReport
import Testing
import TestSupport
import Training

/// results.csv and metrics.jsonl as a real run writes them: the file formats (columns and keys, in
/// their order, as earlier versions wrote them: reports and resumes read old runs) and figures
/// that agree between the files, the records the trainer returns and the report's reader.
@Suite("metrics files of a real run", .serialized)
struct MetricsFilesTests {
    /// The formats, stated here on their own (the trainer derives them from its metric table).
    static let columns = ["epoch", "step", "lr", "batch_size", "copies", "train_loss", "train_error", "val_loss", "val_error",
                          "grad_norm", "epoch_seconds", "images_per_second", "comm_seconds", "data_seconds",
                          "exposed_comm_seconds"]
    static let stepKeys = ["type", "epoch", "step", "loss", "error", "lr", "grad_norm", "images_per_second", "step_seconds",
                           "comm_seconds", "data_seconds", "exposed_comm_seconds"]
    /// Keys of an epoch record that results.csv does not have: one value per rank.
    static let perRankKeys = ["rank_compute_seconds", "rank_wait_seconds"]

    /// A line's keys and values as written, in order (the lines are flat objects of numbers, strings
    /// and nulls; the numbers are read from their text, exactly, as JSONSerialization does not on Linux).
    static func fields(of line: Substring) -> [(key: String, text: String)] {
        line.matches(of: /"(\w+)":("[^"]*"|[^,}]*)/).map { (String($0.1), String($0.2)) }
    }

    @Test("2 epochs of 10 steps, a step record every 3 and the test set at the end: the files, the records and the report agree")
    func twoEpochs() throws {
        let output = scratchDirectory("metrics")
        defer { try? FileManager.default.removeItem(at: output) }
        var c = TrainingConfiguration()
        (c.model, c.batchSize, c.epochs, c.logEvery, c.evalEvery, c.output) = ("mlp", 1_000, 2, 3, 2, output.path)
        let job = JobDescription(version: "test", mpi: "none", blas: "test", hosts: ["here"])
        let summary = try Trainer(configuration: c, communicator: SingleProcessCommunicator(), job: job).run()

        // results.csv: the header, and a row per epoch; the test set only at the end (--eval-every 2).
        let csv = try String(contentsOf: output.appendingPathComponent("results.csv"), encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(csv.first == Self.columns)
        let rows = csv.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(Self.columns, $0)) }
        #expect(rows.map { $0["epoch"] } == ["0", "1"] && rows.map { $0["step"] } == ["10", "20"])
        #expect(rows.map { $0["batch_size"] } == ["1000", "1000"] && rows.map { $0["copies"] } == ["1", "1"])
        #expect(rows.map { $0["lr"] } == ["0.1", "0.1"])
        #expect(rows[0]["val_loss"] == "" && rows[0]["val_error"] == "" && rows[1]["val_error"]?.isEmpty == false)

        // metrics.jsonl: step records at steps 3, 6, 9, 10 of each epoch, then the epoch's record
        // with results.csv's columns and values.
        let lines = try String(contentsOf: output.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        let objects = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(objects.map { $0["type"] as? String } == Array(repeating: "step", count: 4) + ["epoch"]
            + Array(repeating: "step", count: 4) + ["epoch"])
        let fields = lines.map(Self.fields)
        for (fields, object) in zip(fields, objects) {
            #expect(fields.map(\.key) == (object["type"] as? String == "step" ? Self.stepKeys : ["type"] + Self.columns + Self.perRankKeys))
            if object["type"] as? String == "epoch" {
                for key in Self.perRankKeys {
                    let seconds = try #require(object[key] as? [Double], "\(key): \(object)")
                    #expect(seconds.count == 1 && seconds[0] >= 0, "\(key): \(seconds), one rank")
                }
            }
        }
        let records = fields.map { Dictionary(uniqueKeysWithValues: $0) }
        let steps = records.filter { $0["type"] == "\"step\"" }
        let epochs = records.filter { $0["type"] == "\"epoch\"" }
        #expect(steps.map { $0["step"] } == ["3", "6", "9", "10", "13", "16", "19", "20"])
        #expect(steps.map { $0["epoch"] } == ["0", "0", "0", "0", "1", "1", "1", "1"])
        let number = { (text: String?) in text.flatMap(Double.init) }
        for (row, epoch) in zip(rows, epochs) {
            for column in Self.columns {
                #expect(number(row[column]) == number(epoch[column]), "\(column)")
            }
        }
        #expect(epochs[0]["val_loss"] == "null" && number(epochs[1]["val_loss"]) != nil)

        // The records the trainer returns are the rows.
        for (record, row) in zip(summary.epochs, rows) {
            for column in Self.columns { #expect(record[MetricName(rawValue: column)] == row[column].flatMap(Double.init), "\(column)") }
        }

        // An epoch's figures are those of its steps, in the step records as means over 3, 3, 3 and 1 steps.
        let weights = [3.0, 3, 3, 1]
        for (index, epoch) in epochs.enumerated() {
            let records = steps[(4 * index) ..< (4 * index + 4)]
            func weighted(_ key: String) -> Double { zip(records, weights).reduce(0) { $0 + number($1.0[key])! * $1.1 } }
            let figure = { (key: String) in number(epoch[key])! }
            #expect(abs(weighted("loss") / 10 - figure("train_loss")) < 1e-12)
            #expect(abs(weighted("error") / 10 - figure("train_error")) < 1e-12)
            #expect(abs(weighted("grad_norm") / 10 - figure("grad_norm")) < 1e-12)
            for key in ["comm_seconds", "data_seconds", "exposed_comm_seconds"] {
                #expect(abs(weighted(key) - figure(key)) <= 1e-12 * max(figure(key), 1), "\(key)")
            }
            // 1,000 images per step: images per second × seconds per step.
            for record in records {
                #expect(abs(number(record["images_per_second"])! * number(record["step_seconds"])! - 1_000) < 1e-6)
            }
            #expect(figure("epoch_seconds") >= weighted("step_seconds") * (1 - 1e-12))
        }

        // The report's reader sees what was written.
        let run = try Run(directory: output)
        #expect(run.epochs.map(\.step) == [10, 20] && run.epochs.map(\.batchSize) == [1_000, 1_000])
        #expect(run.epochs.map(\.trainLoss) == summary.epochs.map { $0[.trainLoss] })
        #expect(run.epochs.map(\.validationError) == summary.epochs.map { $0[.validationError] })
        #expect(run.epochs.map(\.imagesPerSecond) == summary.epochs.map { $0[.imagesPerSecond] })
        #expect(run.steps.map(\.step) == [3, 6, 9, 10, 13, 16, 19, 20])
        // (It reads metrics.jsonl with JSONSerialization: to the last bit or so.)
        for (read, written) in zip(run.steps, steps) {
            #expect(abs(read.loss! - number(written["loss"])!) < 1e-14 && abs(read.gradientNorm! - number(written["grad_norm"])!) < 1e-14)
        }
    }
}

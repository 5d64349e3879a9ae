import Formatting
import Foundation
import JSON

/// One epoch's figures: a row of results.csv and a `"type": "epoch"` record of metrics.jsonl.
public struct EpochRecord: Sendable, Equatable {
    public var epoch: Int
    /// Optimiser steps taken so far in the whole run.
    public var step: Int
    public var learningRate: Double
    public var batchSize: Int
    public var copies: Int
    public var trainLoss: Double
    public var trainError: Double
    public var validationLoss: Double?
    public var validationError: Double?
    public var gradientNorm: Double
    public var epochSeconds: Double
    /// Images (augmented copies included) through the network per second, all ranks together.
    public var imagesPerSecond: Double
    /// Seconds in the gradient all-reduce, and producing batches, during the epoch.
    public var communicationSeconds: Double
    /// Seconds the steps waited for the all-reduce after their backward (what backward did not hide).
    public var exposedCommunicationSeconds: Double = 0
    public var dataSeconds: Double

    /// The columns of results.csv, which are also the keys of the record in metrics.jsonl.
    static let columns = ["epoch", "step", "lr", "batch_size", "copies", "train_loss", "train_error", "val_loss",
                          "val_error", "grad_norm", "epoch_seconds", "images_per_second", "comm_seconds", "data_seconds",
                          "exposed_comm_seconds"]

    /// The values of `columns`, in order.
    var values: [JSONValue] {
        [.number(epoch), .number(step), .double(learningRate), .number(batchSize), .number(copies), .double(trainLoss),
         .double(trainError), validationLoss.map(JSONValue.double) ?? .null, validationError.map(JSONValue.double) ?? .null,
         .double(gradientNorm), .double(epochSeconds), .double(imagesPerSecond), .double(communicationSeconds),
         .double(dataSeconds), .double(exposedCommunicationSeconds)]
    }
}

/// One logged step: a `"type": "step"` record of metrics.jsonl (means over the steps since the
/// previous record).
public struct StepRecord: Sendable, Equatable {
    public var epoch: Int
    public var step: Int
    public var loss: Double
    public var error: Double
    public var learningRate: Double
    public var gradientNorm: Double
    public var imagesPerSecond: Double
    public var stepSeconds: Double
    public var communicationSeconds: Double
    /// Mean seconds a step waited for the all-reduce after its backward.
    public var exposedCommunicationSeconds: Double = 0
    public var dataSeconds: Double

    var line: JSONLine {
        JSONLine().add("type", "step").add("epoch", epoch).add("step", step).add("loss", loss).add("error", error)
            .add("lr", learningRate).add("grad_norm", gradientNorm).add("images_per_second", imagesPerSecond)
            .add("step_seconds", stepSeconds).add("comm_seconds", communicationSeconds).add("data_seconds", dataSeconds)
            .add("exposed_comm_seconds", exposedCommunicationSeconds)
    }
}

/// results.csv and metrics.jsonl in the output directory (rank 0 only). Lines are appended and
/// flushed as they come, so a crashed run keeps everything up to its last record.
final class MetricsFiles {
    let results: URL
    let metrics: URL
    private let resultsHandle: FileHandle
    private let metricsHandle: FileHandle
    /// The report and TensorBoard files, updated from each record once it is on disk.
    var views: LiveViews?

    /// Opens the files; when resuming after epoch `keepThrough` at global step `resumedStep`, drops
    /// the records written after the checkpoint by the interrupted run (epoch rows of later epochs,
    /// step records of later steps), so nothing appears twice and nothing before it is lost.
    init(directory: URL, resumingAfter keepThrough: Int?, atStep resumedStep: Int = 0) throws {
        results = directory.appendingPathComponent("results.csv")
        metrics = directory.appendingPathComponent("metrics.jsonl")
        let fileManager = FileManager.default
        if let keepThrough {
            try Self.truncate(results, keepingEpochsThrough: keepThrough, stepsThrough: resumedStep, isCSV: true)
            try Self.truncate(metrics, keepingEpochsThrough: keepThrough, stepsThrough: resumedStep, isCSV: false)
        }
        if !fileManager.fileExists(atPath: results.path) {
            try Data((EpochRecord.columns.joined(separator: ",") + "\n").utf8).write(to: results)
        }
        if !fileManager.fileExists(atPath: metrics.path) { try Data().write(to: metrics) }
        resultsHandle = try FileHandle(forWritingTo: results)
        metricsHandle = try FileHandle(forWritingTo: metrics)
        try resultsHandle.seekToEnd()
        try metricsHandle.seekToEnd()
    }

    deinit {
        try? resultsHandle.close()
        try? metricsHandle.close()
    }

    func write(_ record: EpochRecord) throws {
        let values = record.values
        let row = values.map(Self.csvCell).joined(separator: ",") + "\n"
        try append(row, to: resultsHandle, file: results)
        let line = JSONLine([("type", .string("epoch"))] + zip(EpochRecord.columns, values).map { ($0, $1) })
        try append(line.render() + "\n", to: metricsHandle, file: metrics)
        views?.record(record)
    }

    func write(_ record: StepRecord) throws {
        try append(record.line.render() + "\n", to: metricsHandle, file: metrics)
        views?.record(record)
    }

    /// Appends `text`; a failure (a full disk) names the file and the reason in words.
    private func append(_ text: String, to handle: FileHandle, file: URL) throws {
        do {
            try handle.write(contentsOf: Data(text.utf8))
        } catch {
            let error = error as NSError
            let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError
            let reason = error.code == NSFileWriteOutOfSpaceError ? "no space left on device"
                : underlying.map { String(cString: strerror(Int32($0.code))) } ?? error.localizedDescription
            throw TrainingFailure("cannot write \(file.path): \(reason)")
        }
    }

    /// A value as a results.csv cell: numbers as Swift prints them, "nan" when not finite, empty when absent.
    static func csvCell(_ value: JSONValue) -> String {
        switch value {
        case .null: ""
        case .double(let d): d.isFinite ? "\(d)" : "nan"
        case .integer(let i): "\(i)"
        case .unsignedInteger(let u): "\(u)"
        case .bool(let b): "\(b)"
        case .string(let s): s
        case .array, .object: (try? value.jsonText()) ?? ""
        }
    }

    /// Rewrites `url` (atomically) without the epoch records of epochs after `epoch` and the step
    /// records of steps after `step` (a checkpoint inside an epoch keeps that epoch's earlier steps).
    private static func truncate(_ url: URL, keepingEpochsThrough epoch: Int, stepsThrough step: Int,
                                 isCSV: Bool) throws {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        lines = lines.enumerated().filter { index, line in
            if isCSV {
                if index == 0 { return true }
                return Int(line.split(separator: ",").first ?? "") .map { $0 <= epoch } ?? false
            }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let recordEpoch = object["epoch"] as? Int else { return false }
            if object["type"] as? String == "step" { return (object["step"] as? Int).map { $0 <= step } ?? false }
            return recordEpoch <= epoch
        }.map(\.1)
        try Data((lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).utf8).write(to: url, options: .atomic)
    }
}

/// What rank 0 prints while training: progress lines every `--log-every` steps, an epoch summary,
/// and a progress bar on standard error when it is a terminal.
struct Console {
    let enabled: Bool
    let terminal: Bool

    init(enabled: Bool) {
        self.enabled = enabled
        terminal = enabled && isatty(2) != 0
    }

    func line(_ text: String) {
        guard enabled else { return }
        if terminal { StandardError.write("\r\u{1B}[K") }
        print(text)
        fflush(nil)
    }

    func progress(epoch: Int, step: Int, steps: Int) {
        guard terminal else { return }
        let width = 30
        let done = steps > 0 ? width * step / steps : width
        let bar = String(repeating: "#", count: done) + String(repeating: ".", count: width - done)
        StandardError.write("\r[\(bar)] epoch \(epoch) step \(step)/\(steps)")
    }
}

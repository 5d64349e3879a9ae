import Foundation
import JSON
import RunReport

/// results.csv and metrics.jsonl in the output directory (rank 0 only), written from the records
/// of `Metric.table`. Lines are appended and flushed as they come, so a crashed run keeps
/// everything up to its last record.
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
        results = directory.appendingPathComponent(RunFiles.results)
        metrics = directory.appendingPathComponent(RunFiles.metrics)
        let fileManager = FileManager.default
        if let keepThrough {
            try Self.truncate(results, keepingEpochsThrough: keepThrough, stepsThrough: resumedStep, isCSV: true)
            try Self.truncate(metrics, keepingEpochsThrough: keepThrough, stepsThrough: resumedStep, isCSV: false)
        }
        if !fileManager.fileExists(atPath: results.path) {
            let header = Metric.names(of: .epoch).map(\.rawValue).joined(separator: ",")
            try Data((header + "\n").utf8).write(to: results)
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

    /// Appends an epoch record to results.csv and metrics.jsonl, a step record to metrics.jsonl.
    func write(_ record: MetricRecord) throws {
        if record.kind == .epoch {
            let row = record.fields.map { Self.csvCell($0.value) }.joined(separator: ",") + "\n"
            try append(row, to: resultsHandle, file: results)
        }
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
                // The header, then rows whose first column (`MetricName.epoch`) is an epoch kept.
                if index == 0 { return true }
                return Int(line.split(separator: ",").first ?? "") .map { $0 <= epoch } ?? false
            }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let recordEpoch = object[MetricName.epoch.rawValue] as? Int else { return false }
            if object[RunFiles.recordKind] as? String == RecordKind.step.rawValue {
                return (object[MetricName.step.rawValue] as? Int).map { $0 <= step } ?? false
            }
            return recordEpoch <= epoch
        }.map(\.1)
        try Data((lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).utf8).write(to: url, options: .atomic)
    }
}

/// The names `train` writes into a run directory and the report reads back: the files, the kinds
/// of record in metrics.jsonl, and the names metrics are read by. They live here, below both the
/// writer (Training) and the reader (`Run`), so that the two cannot drift apart.
public enum RunFiles {
    /// The run's options, job and versions (JSON).
    public static let configuration = "config.json"
    /// One row per epoch: the epoch records, a column per metric.
    public static let results = "results.csv"
    /// One JSON object per line: every record, epoch and step, its kind under `recordKind`.
    public static let metrics = "metrics.jsonl"
    /// The HTML report of the run, with its charts beside it as report-<chart>.svg.
    public static let report = "report.html"
    /// The key of a metrics.jsonl line that says which kind of record it is.
    public static let recordKind = "type"
}

/// The kinds of record a run writes: "epoch" (a row of results.csv and a line of metrics.jsonl)
/// and "step" (a line of metrics.jsonl every --log-every steps: means over the steps since the last).
public enum RecordKind: String, Sendable, CaseIterable {
    case epoch, step
}

/// The name of a metric: its column in results.csv and its key in metrics.jsonl.
///
/// Training's metric table (`Sources/Training/Metrics.swift`) declares every metric a run writes:
/// its name, how it is computed, which records and files hold it. The constants below are the
/// names other code reads metrics by (this report, the trainer's console); a metric that is only
/// written is named in its table entry alone.
public struct MetricName: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    public var description: String { rawValue }
}

extension MetricName {
    public static let epoch: MetricName = "epoch"
    /// Optimiser steps of the whole run so far.
    public static let step: MetricName = "step"
    public static let learningRate: MetricName = "lr"
    public static let batchSize: MetricName = "batch_size"
    public static let copies: MetricName = "copies"
    /// An epoch record's training loss and error.
    public static let trainLoss: MetricName = "train_loss"
    public static let trainError: MetricName = "train_error"
    /// A step record's training loss and error.
    public static let loss: MetricName = "loss"
    public static let error: MetricName = "error"
    /// The test set's, in epoch records (empty when the epoch was not evaluated).
    public static let validationLoss: MetricName = "val_loss"
    public static let validationError: MetricName = "val_error"
    public static let gradientNorm: MetricName = "grad_norm"
    public static let epochSeconds: MetricName = "epoch_seconds"
    public static let stepSeconds: MetricName = "step_seconds"
    public static let imagesPerSecond: MetricName = "images_per_second"
    public static let communicationSeconds: MetricName = "comm_seconds"
    public static let dataSeconds: MetricName = "data_seconds"
}

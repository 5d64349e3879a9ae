import DataParallel
import JSON
import RunReport

/// The metrics of a run, one entry each: its name, its value in each kind of record that has it
/// (how it is computed from the steps the record covers), and its TensorBoard scalar.
///
/// Where a metric goes follows from its entry: a value in epoch records is a column of
/// results.csv and a key of metrics.jsonl's "epoch" lines; a value in step records is a key of its
/// "step" lines; a TensorBoard tag writes the value (when it is not empty) as a scalar at the run's
/// step. Columns and keys come in the table's order (results.csv's and metrics.jsonl's, which
/// older runs have: append new metrics at the end). Adding a metric is one entry here, computed
/// from what the steps measured (`StepFigures`: the step's whole outcome), e.g. the seconds of
/// forward and backward as `.seconds("compute_seconds", \.outcome.computeSeconds)`; the files,
/// the TensorBoard scalars and the records follow. Names that other code reads metrics by are
/// `MetricName` constants (`Sources/RunReport/RunFiles.swift`).
extension Metric {
    static let table: [Metric] = [
        Metric(.epoch, epoch: .integer(\.epoch), step: .integer(\.epoch)),
        // Optimiser steps of the whole run so far.
        Metric(.step, epoch: .integer(\.globalStep), step: .integer(\.globalStep)),
        Metric(.loss, step: .real(tensorBoard: "train/loss") { $0.perSample(\.outcome.totals.lossSum) }),
        Metric(.error, step: .real(tensorBoard: "train/error") { 1 - $0.perSample(\.outcome.totals.correct) }),
        Metric(.learningRate, epoch: .real(\.learningRate), step: .real(tensorBoard: "train/learning_rate", \.learningRate)),
        Metric(.batchSize, epoch: .integer(\.batchSize)),
        Metric(.copies, epoch: .integer(\.copies)),
        Metric(.trainLoss, epoch: .real(tensorBoard: "epoch/train_loss") { $0.perSample(\.outcome.totals.lossSum) }),
        Metric(.trainError, epoch: .real(tensorBoard: "epoch/train_error") { 1 - $0.perSample(\.outcome.totals.correct) }),
        // Step records have them after the steps --eval-every-steps evaluates at (and leave them out elsewhere).
        Metric(.validationLoss, epoch: .ifAny(tensorBoard: "epoch/val_loss") { $0.validation?.loss },
               step: .ifAny(tensorBoard: "step/val_loss") { $0.validation?.loss }),
        Metric(.validationError, epoch: .ifAny(tensorBoard: "epoch/val_error") { $0.validation?.error },
               step: .ifAny(tensorBoard: "step/val_error") { $0.validation?.error }),
        Metric(.gradientNorm, epoch: .real(meanGradientNorm),
               step: .real(tensorBoard: "train/gradient_norm", meanGradientNorm)),
        Metric(.epochSeconds, epoch: .real(\.seconds)),
        Metric(.imagesPerSecond, epoch: .real(imagesPerSecond),
               step: .real(tensorBoard: "train/images_per_second", imagesPerSecond)),
        Metric(.stepSeconds, step: .real { $0.seconds / Double(max($0.steps.count, 1)) }),
        // In the gradient all-reduce; producing batches; waiting for the all-reduce after backward
        // (what backward did not hide).
        .seconds(.communicationSeconds, \.outcome.communicationSeconds),
        .seconds(.dataSeconds, \.dataSeconds),
        .seconds("exposed_comm_seconds", \.outcome.exposedCommunicationSeconds),
        // Each rank's own seconds of the epoch (metrics.jsonl only): producing batches, forward,
        // backward and the update; and waiting for the gradient all-reduce after backward, which
        // is where the others wait for a slow rank (`Stragglers`).
        Metric("rank_compute_seconds", epoch: .perRank { $0.ranks.map(\.compute) }),
        Metric("rank_wait_seconds", epoch: .perRank { $0.ranks.map(\.wait) }),
    ]

    /// The mean over the steps of the gradient's L2 norm (the optimiser's).
    private static func meanGradientNorm(_ inputs: MetricInputs) -> Double {
        inputs.perStep { Double($0.outcome.gradientNorm) }
    }

    /// Images (augmented copies included) through the network per second, all ranks together.
    private static func imagesPerSecond(_ inputs: MetricInputs) -> Double {
        inputs.sum(\.images) / max(inputs.seconds, 1e-9)
    }

    /// Seconds a step spends in something (`figure`): the epoch's total in epoch records, the mean
    /// per step in step records.
    static func seconds(_ name: MetricName, _ figure: @escaping @Sendable (StepFigures) -> Double) -> Metric {
        Metric(name, epoch: .real { $0.sum(figure) }, step: .real { $0.perStep(figure) })
    }
}

/// What one step measured, as the metrics read it: its outcome (loss, correct and samples summed
/// over the ranks; this process's timings) and what the trainer measured around it.
struct StepFigures: Sendable {
    var outcome: DataParallelStep.Outcome
    /// The whole step on the clock.
    var seconds: Double
    /// Reading and decoding the step's photographs before it (0 for datasets held in memory).
    var loadSeconds = 0.0
    /// Images through the network over all ranks: M·B.
    var images: Double

    /// Reading the step's samples and making their copies (photographs: decoding them before the step).
    var dataSeconds: Double { loadSeconds + outcome.dataSeconds }
}

/// What a record is computed from: the steps it covers, in order, and where the run is.
struct MetricInputs {
    /// The epoch's steps, or those since the previous step record.
    var steps: ArraySlice<StepFigures>
    var epoch: Int
    /// Optimiser steps of the whole run so far.
    var globalStep: Int
    /// The last step's learning rate.
    var learningRate: Double
    /// The record's time: the epoch on the clock, or the sum of its steps'.
    var seconds: Double
    /// Epoch records: the epoch's B and M, and its test-set loss and error if it was evaluated.
    var batchSize = 0, copies = 0
    var validation: (loss: Double, error: Double)? = nil
    /// Epoch records: every rank's own seconds, in rank order (empty for one process).
    var ranks: [RankSeconds] = []

    /// A step record's inputs: the steps' own time, and the test set's loss and error if the run
    /// was evaluated after the last of them.
    init(steps: ArraySlice<StepFigures>, epoch: Int, globalStep: Int, learningRate: Double,
         validation: (loss: Double, error: Double)? = nil) {
        (self.steps, self.epoch, self.globalStep, self.learningRate) = (steps, epoch, globalStep, learningRate)
        self.validation = validation
        seconds = 0
        seconds = sum(\.seconds)
    }

    /// An epoch record's inputs.
    init(steps: ArraySlice<StepFigures>, epoch: Int, globalStep: Int, learningRate: Double, seconds: Double,
         batchSize: Int, copies: Int, validation: (loss: Double, error: Double)?, ranks: [RankSeconds] = []) {
        self.init(steps: steps, epoch: epoch, globalStep: globalStep, learningRate: learningRate, validation: validation)
        (self.seconds, self.batchSize, self.copies) = (seconds, batchSize, copies)
        self.ranks = ranks
    }

    /// The sum of `figure` over the steps, in step order.
    func sum(_ figure: (StepFigures) -> Double) -> Double { steps.reduce(0) { $0 + figure($1) } }

    /// The mean of `figure` per step.
    func perStep(_ figure: (StepFigures) -> Double) -> Double { sum(figure) / Double(max(steps.count, 1)) }

    /// The sum of `figure` per sample of the steps (the loss; the fraction correct).
    func perSample(_ figure: (StepFigures) -> Double) -> Double { sum(figure) / max(sum(\.outcome.totals.samples), 1) }
}

/// One metric: see `Metric.table`.
struct Metric: Sendable {
    let name: MetricName
    /// Its value in epoch records and in step records; nil: not in that kind of record.
    let epoch: Value?
    let step: Value?

    init(_ name: MetricName, epoch: Value? = nil, step: Value? = nil) {
        (self.name, self.epoch, self.step) = (name, epoch, step)
    }

    func value(in kind: RecordKind) -> Value? {
        switch kind {
        case .epoch: epoch
        case .step: step
        }
    }

    /// How a record's value is computed, and the TensorBoard scalar it is written to, if any.
    struct Value: Sendable {
        let compute: @Sendable (MetricInputs) -> JSONValue
        let tensorBoard: String?
        /// Whether an epoch value is a column of results.csv (a number); lists are in metrics.jsonl only.
        var inResults = true

        /// One number per rank, in rank order (metrics.jsonl only).
        static func perRank(_ values: @escaping @Sendable (MetricInputs) -> [Double]) -> Value {
            Value(compute: { .array(values($0).map(JSONValue.double)) }, tensorBoard: nil, inResults: false)
        }

        static func integer(tensorBoard: String? = nil, _ value: @escaping @Sendable (MetricInputs) -> Int) -> Value {
            Value(compute: { .number(value($0)) }, tensorBoard: tensorBoard)
        }

        static func real(tensorBoard: String? = nil, _ value: @escaping @Sendable (MetricInputs) -> Double) -> Value {
            Value(compute: { .double(value($0)) }, tensorBoard: tensorBoard)
        }

        /// A value some records have (empty in the others).
        static func ifAny(tensorBoard: String? = nil, _ value: @escaping @Sendable (MetricInputs) -> Double?) -> Value {
            Value(compute: { value($0).map(JSONValue.double) ?? .null }, tensorBoard: tensorBoard)
        }
    }

    /// The metrics of `kind`'s records, in order.
    static func names(of kind: RecordKind) -> [MetricName] {
        table.filter { $0.value(in: kind) != nil }.map(\.name)
    }

    /// The columns of results.csv: the numbers of epoch records, in order.
    static var resultsColumns: [MetricName] { table.filter { $0.epoch?.inResults == true }.map(\.name) }
}

/// One record of a run's metrics: an epoch's (a row of results.csv, an "epoch" line of
/// metrics.jsonl) or a logged step's (a "step" line): its metrics' values in the table's order.
public struct MetricRecord: Sendable, Equatable {
    public let kind: RecordKind
    public let fields: [Field]

    public struct Field: Sendable, Equatable {
        public let name: MetricName
        public let value: JSONValue
        /// Whether it is a column of results.csv (epoch records).
        public let inResults: Bool
    }

    init(_ kind: RecordKind, _ inputs: MetricInputs) {
        self.kind = kind
        // An epoch record has every column (results.csv's, empty where there is no value); a step
        // record only the values it has.
        fields = Metric.table.compactMap { metric in
            metric.value(in: kind).map { Field(name: metric.name, value: $0.compute(inputs), inResults: $0.inResults) }
        }.filter { kind == .epoch || $0.value != .null }
    }

    /// The value of `name` as a number; nil when the record has no such metric or it is empty.
    public subscript(name: MetricName) -> Double? {
        switch fields.first(where: { $0.name == name })?.value {
        case .double(let value)?: value
        case .integer(let value)?: Double(value)
        case .unsignedInteger(let value)?: Double(value)
        default: nil
        }
    }

    /// The value of `name` for people to read: NaN when the record has none.
    func number(_ name: MetricName) -> Double { self[name] ?? .nan }

    /// The run's step at the record (the step of its TensorBoard scalars).
    public var step: Int { Int(self[.step] ?? 0) }

    /// The record as a line of metrics.jsonl: its kind, then its metrics.
    var line: JSONLine {
        JSONLine([(RunFiles.recordKind, .string(kind.rawValue))] + fields.map { ($0.name.rawValue, $0.value) })
    }
}

/// One rank's own seconds of an epoch: busy (batches, forward, backward, update) and waiting for
/// the gradient all-reduce after backward.
public struct RankSeconds: Sendable, Equatable {
    public var compute: Double
    public var wait: Double
    public init(compute: Double, wait: Double) { (self.compute, self.wait) = (compute, wait) }
}

import Foundation
import RunReport

/// The figures of a study, read back from the files its runs wrote (results.csv, config.json and
/// the gradient-norm measurements), and the verdict on its claim.
///
/// `summary.csv` has one row per arm and seed; `summary.md` the mean and spread over seeds per arm,
/// and the verdict computed from them by the rule stated with it. Spreads are the range over
/// seeds (min–max): with two or three seeds a difference counts as established only when the
/// ranges of the two arms do not overlap.
public struct StudySummary: Sendable {
    public struct Row: Sendable, Equatable {
        public var study: String
        public var arm: String
        public var seed: UInt64
        public var model: String
        public var dataset: String
        public var trainSamples: Int
        /// The first epoch's B and M (a regime may change them later; the arm's name says how).
        public var batchSize: Int
        public var copies: Int
        /// Epochs trained (for gradient-norm rows: epochs of baseline training before measuring).
        public var epochs: Int
        /// Optimiser steps (for gradient-norm rows: batches measured).
        public var steps: Int
        /// Images through the network, M·B per step summed over steps.
        public var images: Int
        public var finalValidationError: Double?
        public var bestValidationError: Double?
        /// Training runs: the mean over all steps of the logged gradient norm ‖g‖ (each epoch's mean
        /// weighted by its steps). Gradient-norm rows: the mean over the batches measured.
        public var gradientNorm: Double
        /// Training runs: the sum of the epochs' training seconds (evaluation excluded);
        /// gradient-norm rows: the measurement's seconds.
        public var wallSeconds: Double
    }

    /// One arm's figure over seeds.
    public struct Spread: Sendable, Equatable {
        public let values: [Double]
        public init(_ values: [Double]) { self.values = values }
        public var mean: Double { values.reduce(0, +) / Double(Swift.max(values.count, 1)) }
        public var min: Double { values.min() ?? .nan }
        public var max: Double { values.max() ?? .nan }
        /// Whether every value here lies below every value of `other` (the ranges do not overlap).
        public func entirelyBelow(_ other: Spread) -> Bool { !values.isEmpty && !other.values.isEmpty && max < other.min }
    }

    public let study: String
    public let definition: StudyDefinition
    public let rows: [Row]
    /// Per training run: its per-epoch records (for verdicts that look inside a run).
    let epochs: [String: [EpochResult]]
    /// The gradient-norm measurements, by (point, seed).
    let probes: [ProbeFile]

    public init(definition: StudyDefinition, seeds: [UInt64], directory: URL) throws {
        self.definition = definition
        study = definition.name.rawValue
        var rows: [Row] = []
        var epochs: [String: [EpochResult]] = [:]
        for arm in definition.arms {
            for seed in seeds {
                let run = try Run(directory: directory.appendingPathComponent("runs/\(arm.name)-seed\(seed)"))
                epochs["\(arm.name)-seed\(seed)"] = run.epochs
                guard arm.summarized else { continue }
                rows.append(try Self.row(study: study, arm: arm.name, seed: seed, run: run))
            }
        }
        var probes: [ProbeFile] = []
        if let probe = definition.probe {
            let base = probe.base
            for seed in seeds {
                for point in probe.points {
                    let file = try ProbeFile(contentsOf: directory.appendingPathComponent("probe/epoch\(point)-seed\(seed).csv"),
                                             epochs: point, seed: seed)
                    probes.append(file)
                    for m in file.measurements {
                        rows.append(Row(study: study, arm: m.arm, seed: seed, model: base.model, dataset: base.dataset,
                                        trainSamples: base.trainSamples ?? 0, batchSize: m.batchSize, copies: m.copies,
                                        epochs: point, steps: m.norms.count, images: m.norms.count * m.copies * m.batchSize,
                                        finalValidationError: nil, bestValidationError: nil, gradientNorm: m.mean,
                                        wallSeconds: file.seconds / Double(max(file.measurements.count, 1))))
                    }
                }
            }
        }
        self.rows = rows
        self.epochs = epochs
        self.probes = probes
    }

    /// The summary row of one finished run.
    public static func row(study: String, arm: String, seed: UInt64, run: Run) throws -> Row {
        let results = run.directory.appendingPathComponent(RunFiles.results).path
        guard run.configurationText != nil else { throw StudyError("\(run.directory.path) has no config.json") }
        guard let first = run.epochs.first, let last = run.epochs.last else { throw StudyError("\(results) has no epochs") }
        var images = 0, previousStep = 0
        var weightedNorm = 0.0, seconds = 0.0
        for record in run.epochs {
            guard let step = record.step, let batch = record.batchSize, let copies = record.copies,
                  let norm = record.gradientNorm, let epochSeconds = record.epochSeconds else {
                throw StudyError("\(results): epoch \(record.epoch) lacks step, batch_size, copies, grad_norm or epoch_seconds")
            }
            images += (step - previousStep) * copies * batch
            weightedNorm += norm * Double(step - previousStep)
            seconds += epochSeconds
            previousStep = step
        }
        let errors = run.epochs.compactMap(\.validationError)
        let samples = run.job["dataset_train_samples"].flatMap { Int($0) } ?? run.configuration["train-samples"].flatMap { Int($0) }
        return Row(study: study, arm: arm, seed: seed, model: run.configuration["model"] ?? "?",
                   dataset: run.configuration["dataset"] ?? "?", trainSamples: samples ?? 0,
                   batchSize: first.batchSize!, copies: first.copies!, epochs: run.epochs.count, steps: previousStep,
                   images: images, finalValidationError: last.validationError, bestValidationError: errors.min(),
                   gradientNorm: weightedNorm / Double(max(previousStep, 1)), wallSeconds: seconds)
    }

    // MARK: - Arms

    /// The arms in the study's order, as they appear in the rows.
    public var armNames: [String] {
        var seen: [String] = []
        for row in rows where !seen.contains(row.arm) { seen.append(row.arm) }
        return seen
    }

    /// A figure of one arm over seeds (gradient-norm rows: at one point).
    public func spread(_ arm: String, epochs point: Int? = nil, _ figure: (Row) -> Double?) -> Spread {
        Spread(rows.filter { $0.arm == arm && (point == nil || $0.epochs == point) }.compactMap(figure))
    }

    // MARK: - Files

    public static let csvColumns = ["study", "arm", "seed", "model", "dataset", "train_samples", "batch_size", "copies",
                                    "epochs", "steps", "images", "final_val_error", "best_val_error", "grad_norm",
                                    "wall_seconds"]

    public func csv() -> String {
        var lines = [Self.csvColumns.joined(separator: ",")]
        for r in rows {
            let fields: [String] = [r.study, r.arm, "\(r.seed)", r.model, r.dataset, "\(r.trainSamples)", "\(r.batchSize)",
                                    "\(r.copies)", "\(r.epochs)", "\(r.steps)", "\(r.images)",
                                    r.finalValidationError.map { "\($0)" } ?? "", r.bestValidationError.map { "\($0)" } ?? "",
                                    "\(r.gradientNorm)", "\(r.wallSeconds)"]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// summary.csv and summary.md, each written atomically.
    public func write(to directory: URL) throws {
        try Data(csv().utf8).write(to: directory.appendingPathComponent("summary.csv"), options: .atomic)
        try Data(markdown().utf8).write(to: directory.appendingPathComponent("summary.md"), options: .atomic)
    }
}

import Foundation
import JSON

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
    let epochs: [String: [EpochRow]]
    /// The gradient-norm measurements, by (point, seed).
    let probes: [ProbeFile]

    public init(definition: StudyDefinition, seeds: [UInt64], directory: URL) throws {
        self.definition = definition
        study = definition.name.rawValue
        var rows: [Row] = []
        var epochs: [String: [EpochRow]] = [:]
        for arm in definition.arms {
            for seed in seeds {
                let run = directory.appendingPathComponent("runs/\(arm.name)-seed\(seed)")
                let records = try EpochRow.read(run.appendingPathComponent("results.csv"))
                epochs["\(arm.name)-seed\(seed)"] = records
                guard arm.summarized else { continue }
                rows.append(try Self.row(study: study, arm: arm.name, seed: seed, run: run, records: records))
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
    public static func row(study: String, arm: String, seed: UInt64, run: URL, records: [EpochRow]) throws -> Row {
        let configURL = run.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: configURL), let object = (try? JSONValue(parsing: data))?.objectValue,
              let configuration = object["configuration"]?.objectValue else {
            throw StudyError("\(configURL.path) is missing or not a run's config.json")
        }
        let job = object["job"]?.objectValue ?? [:]
        func text(_ value: JSONValue?) -> String { if case .string(let s)? = value { s } else { "?" } }
        guard let first = records.first, let last = records.last else {
            throw StudyError("\(run.appendingPathComponent("results.csv").path) has no epochs")
        }
        var images = 0, previousStep = 0
        var weightedNorm = 0.0
        for record in records {
            let steps = record.step - previousStep
            images += steps * record.copies * record.batchSize
            weightedNorm += record.gradientNorm * Double(steps)
            previousStep = record.step
        }
        let errors = records.compactMap(\.validationError)
        return Row(study: study, arm: arm, seed: seed, model: text(configuration["model"]),
                   dataset: text(configuration["dataset"]),
                   trainSamples: job["dataset_train_samples"]?.nonNegativeInt ?? configuration["train-samples"]?.nonNegativeInt ?? 0,
                   batchSize: first.batchSize, copies: first.copies, epochs: records.count, steps: last.step,
                   images: images, finalValidationError: last.validationError, bestValidationError: errors.min(),
                   gradientNorm: weightedNorm / Double(max(last.step, 1)),
                   wallSeconds: records.map(\.seconds).reduce(0, +))
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

/// One row of a run's results.csv, the fields a summary needs.
public struct EpochRow: Sendable, Equatable {
    public var epoch: Int
    public var step: Int
    public var batchSize: Int
    public var copies: Int
    public var validationError: Double?
    public var gradientNorm: Double
    public var seconds: Double

    /// Reads results.csv by its header's column names; errors name the file and line.
    public static func read(_ url: URL) throws -> [EpochRow] {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw StudyError("cannot read \(url.path): \(error.localizedDescription)")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false).map(String.init) else {
            throw StudyError("\(url.path) is empty")
        }
        func column(_ name: String) throws -> Int {
            guard let index = header.firstIndex(of: name) else { throw StudyError("\(url.path) has no column '\(name)'") }
            return index
        }
        let (e, s, b, m, v, g, t) = (try column("epoch"), try column("step"), try column("batch_size"), try column("copies"),
                                     try column("val_error"), try column("grad_norm"), try column("epoch_seconds"))
        return try lines.dropFirst().enumerated().map { index, line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == header.count, let epoch = Int(fields[e]), let step = Int(fields[s]),
                  let batch = Int(fields[b]), let copies = Int(fields[m]), let norm = Double(fields[g]),
                  let seconds = Double(fields[t]) else {
                throw StudyError("\(url.path) line \(index + 2) is not a results row: '\(line)'")
            }
            return EpochRow(epoch: epoch, step: step, batchSize: batch, copies: copies, validationError: Double(fields[v]),
                            gradientNorm: norm, seconds: seconds)
        }
    }
}

import Foundation

/// One row of a run's results.csv: the figures of one epoch. Columns missing from the file (runs
/// of other versions) or left empty (no evaluation that epoch) are nil.
public struct EpochResult: Sendable, Equatable {
    public var epoch: Int
    /// Optimiser steps of the whole run at the end of the epoch.
    public var step: Int?
    public var learningRate: Double?
    public var batchSize: Int?
    public var copies: Int?
    public var trainLoss: Double?
    public var trainError: Double?
    public var validationLoss: Double?
    public var validationError: Double?
    public var gradientNorm: Double?
    public var epochSeconds: Double?
    public var imagesPerSecond: Double?
}

/// One `"type":"step"` record of a run's metrics.jsonl: means over the steps since the previous one.
public struct StepResult: Sendable, Equatable {
    public var step: Int
    public var epoch: Int?
    public var loss: Double?
    public var learningRate: Double?
    public var gradientNorm: Double?
    public var imagesPerSecond: Double?
}

/// A run directory as `train` leaves it, read from its files only (config.json, results.csv,
/// metrics.jsonl), so runs of any version, finished, in progress or resumed, can be shown.
public struct Run: Sendable {
    public let directory: URL
    /// The directory as it was given (relative paths stay relative), for showing.
    public let path: String
    /// The run's options from config.json's "configuration" object, as JSON text of each value
    /// (strings without quotes); empty without config.json.
    public let configuration: [String: String]
    /// config.json's "job" object (ranks, hosts, …) the same way.
    public let job: [String: String]
    /// config.json, indented, for people to read; nil without the file.
    public let configurationText: String?
    /// One entry per epoch, in epoch order (a row written again after a resume replaces the earlier one).
    public let epochs: [EpochResult]
    /// Logged steps, in step order; empty when the run has no metrics.jsonl.
    public let steps: [StepResult]
    /// Whether the directory has a metrics.jsonl.
    public let hasStepRecords: Bool

    public var name: String { directory.lastPathComponent }

    /// Reads the run in `directory`. A directory without results.csv is not a run; a malformed line
    /// is an error naming the file and line; an unterminated last line (a run writing it right
    /// now) is ignored.
    public init(directory: URL) throws {
        self.directory = directory.standardizedFileURL
        path = directory.relativePath
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw ReportError(file: directory.path, problem: "no such directory")
        }
        guard isDirectory.boolValue else {
            throw ReportError(file: directory.path, problem: "not a directory (give a run's output directory)")
        }
        let results = directory.appendingPathComponent(RunFiles.results)
        guard files.fileExists(atPath: results.path) else {
            throw ReportError(file: directory.path,
                               problem: "not a run directory: it has no \(RunFiles.results) (a run's --output directory holds "
                                   + "\(RunFiles.configuration), \(RunFiles.results) and \(RunFiles.metrics))")
        }
        epochs = try Self.readResults(results)

        let configFile = directory.appendingPathComponent(RunFiles.configuration)
        if files.fileExists(atPath: configFile.path) {
            let data = try Self.contents(of: configFile)
            let object: [String: Any]
            do {
                guard let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                    throw ReportError(file: configFile.path, problem: "not a JSON object")
                }
                object = parsed
            } catch let error as ReportError {
                throw error
            } catch {
                throw ReportError(file: configFile.path, problem: "not valid JSON (\(JSONText.reason(error)))")
            }
            configuration = JSONText.flatten(object["configuration"])
            job = JSONText.flatten(object["job"])
            configurationText = JSONText.indented(object)
        } else {
            (configuration, job, configurationText) = ([:], [:], nil)
        }

        let metrics = directory.appendingPathComponent(RunFiles.metrics)
        hasStepRecords = files.fileExists(atPath: metrics.path)
        steps = hasStepRecords ? try Self.readSteps(metrics) : []
    }

    // MARK: - results.csv

    static func readResults(_ url: URL) throws -> [EpochResult] {
        let lines = try completeLines(of: url)
        guard let header = lines.first else { return [] }
        let columns = header.text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard columns.contains(MetricName.epoch.rawValue) else {
            throw ReportError(file: url.path, line: 1, problem: "the header has no '\(MetricName.epoch)' column: not a results.csv of batchaug-dist")
        }
        var byEpoch: [Int: EpochResult] = [:]
        for line in lines.dropFirst() where !line.text.isEmpty {
            let fields = line.text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == columns.count else {
                throw ReportError(file: url.path, line: line.number,
                                   problem: "\(fields.count) fields where the header has \(columns.count)")
            }
            func number(_ name: MetricName) throws -> Double? {
                guard let index = columns.firstIndex(of: name.rawValue) else { return nil }
                let text = fields[index].trimmingCharacters(in: .whitespaces)
                if text.isEmpty { return nil }
                guard let value = Double(text) else {
                    throw ReportError(file: url.path, line: line.number, problem: "\(name) is '\(text)', not a number")
                }
                return value
            }
            func integer(_ name: MetricName) throws -> Int? {
                guard let value = try number(name) else { return nil }
                guard value.isFinite, value == value.rounded(), abs(value) < 1e15 else {
                    throw ReportError(file: url.path, line: line.number, problem: "\(name) is '\(value)', not a whole number")
                }
                return Int(value)
            }
            guard let epoch = try integer(.epoch) else {
                throw ReportError(file: url.path, line: line.number, problem: "the epoch is empty")
            }
            byEpoch[epoch] = EpochResult(
                epoch: epoch, step: try integer(.step), learningRate: try number(.learningRate),
                batchSize: try integer(.batchSize), copies: try integer(.copies), trainLoss: try number(.trainLoss),
                trainError: try number(.trainError), validationLoss: try number(.validationLoss),
                validationError: try number(.validationError), gradientNorm: try number(.gradientNorm),
                epochSeconds: try number(.epochSeconds), imagesPerSecond: try number(.imagesPerSecond))
        }
        return byEpoch.keys.sorted().map { byEpoch[$0]! }
    }

    // MARK: - metrics.jsonl

    static func readSteps(_ url: URL) throws -> [StepResult] {
        var byStep: [Int: StepResult] = [:]
        for line in try completeLines(of: url) where !line.text.trimmingCharacters(in: .whitespaces).isEmpty {
            let object: [String: Any]
            do {
                guard let parsed = try JSONSerialization.jsonObject(with: Data(line.text.utf8)) as? [String: Any] else {
                    throw ReportError(file: url.path, line: line.number, problem: "not a JSON object")
                }
                object = parsed
            } catch let error as ReportError {
                throw error
            } catch {
                throw ReportError(file: url.path, line: line.number, problem: "not valid JSON (\(JSONText.reason(error)))")
            }
            guard object[RunFiles.recordKind] as? String == RecordKind.step.rawValue else { continue }
            func number(_ name: MetricName) throws -> Double? {
                let key = name.rawValue
                switch object[key] {
                case nil, is NSNull: return nil
                case let value as NSNumber where !JSONText.isBoolean(value): return value.doubleValue
                default:
                    throw ReportError(file: url.path, line: line.number, problem: "\"\(key)\" is not a number")
                }
            }
            guard let step = try number(.step), step == step.rounded(), abs(step) < 1e15 else {
                throw ReportError(file: url.path, line: line.number, problem: "a step record without a whole \"\(MetricName.step)\"")
            }
            byStep[Int(step)] = StepResult(
                step: Int(step), epoch: try number(.epoch).map { Int($0) }, loss: try number(.loss),
                learningRate: try number(.learningRate), gradientNorm: try number(.gradientNorm),
                imagesPerSecond: try number(.imagesPerSecond))
        }
        return byStep.keys.sorted().map { byStep[$0]! }
    }

    // MARK: - Files

    static func contents(of url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw ReportError(file: url.path, problem: "cannot be read (\(error.localizedDescription))")
        }
    }

    /// The file's lines that end with a newline, numbered from 1; the text after the last newline is
    /// a line still being written and is left out.
    static func completeLines(of url: URL) throws -> [(number: Int, text: String)] {
        let data = try contents(of: url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw ReportError(file: url.path, problem: "is not UTF-8 text")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()  // after the last newline: empty, or a partial line
        return lines.enumerated().map { index, line in
            (index + 1, line.hasSuffix("\r") ? String(line.dropLast()) : String(line))
        }
    }
}

/// A run directory or file that cannot be read, or a report that cannot be written: the path, the
/// line if any, and why.
public struct ReportError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let line: Int?
    public let problem: String

    public init(file: String, line: Int? = nil, problem: String) {
        self.file = file
        self.line = line
        self.problem = problem
    }

    public var description: String {
        "\(file)\(line.map { " line \($0)" } ?? ""): \(problem)"
    }
}

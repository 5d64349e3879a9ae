import ArgumentParser
import Engine
import Foundation
import Studies
import SwiftMPI
import Training

/// `batchaug-dist study NAME`: runs one of the papers' claims as a set of training runs and
/// measurements, then writes the summary, the verdict and the report.
struct Study: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Test a claim of the papers: run a study's arms, then write summary.csv, summary.md and the report.",
        discussion: """
            Run under mpirun like train. Each arm and seed is a normal run directory under DIR/runs/; rerunning \
            the same command skips finished runs and resumes an interrupted one from its checkpoint. --scale small \
            fits a 2-core machine (about an hour per study at -np 2, two seeds); --scale paper is the papers' \
            settings, for a cluster.

            """ + StudyName.allCases.map { name in
                let design = StudyDefinition.make(name, scale: .small).design
                return "\(name.rawValue): \(name.claim)\n  Small preset: \(design)"
            }.joined(separator: "\n\n"))

    @Argument(help: ArgumentHelp("The study: \(StudyName.allCases.map(\.rawValue).joined(separator: ", ")).",
                                 valueName: "name"))
    var name: String

    @Option(help: "small (this machine) or paper (the papers' settings, for a cluster).") var scale = "small"
    @Option(help: "Seeds per arm (seeds 1…K; a larger K later adds runs, the finished ones are kept).") var seeds = 2
    @Option(help: ArgumentHelp("Directory of the study (default studies/<name>-<scale>).", valueName: "dir"))
    var output: String?
    @Option(name: .customLong("data-dir"), help: "Directory of the dataset's files (CIFAR-10 studies need it).")
    var dataDirectory: String?
    @Option(help: "Dataset instead of the preset's.") var dataset: String?
    @Option(help: "Model instead of the preset's.") var model: String?
    @Option(help: "Training samples (a seed-determined subset) instead of the preset's.") var trainSamples: Int?
    @Option(help: "Epochs instead of the preset's (the regime's epochs scale with it).") var epochs: Int?

    func validate() throws {
        guard StudyName(rawValue: name) != nil else {
            throw ValidationError("unknown study '\(name)': choose \(StudyName.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard StudyScale(rawValue: scale) != nil else { throw ValidationError("--scale must be small or paper, got '\(scale)'") }
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1, got \(seeds)") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if let trainSamples, trainSamples < 1 { throw ValidationError("--train-samples must be at least 1, got \(trainSamples)") }
    }

    func run() throws {
        let study = StudyName(rawValue: name)!, size = StudyScale(rawValue: scale)!
        let definition = StudyDefinition.make(study, scale: size, overrides: StudyOverrides(
            dataset: dataset, dataDirectory: dataDirectory, model: model, trainSamples: trainSamples, epochs: epochs))
        let directory = URL(fileURLWithPath: output ?? "studies/\(name)-\(scale)").standardizedFileURL
        try runJob { world in
            BLAS.useOneThreadPerRank()
            let runner = StudyRunner(definition: definition, seeds: seeds, directory: directory, communicator: world,
                                     job: try .of(world), command: CommandLine.arguments)
            let outcome = try runner.run()
            guard let summary = outcome.summary else { return }
            for line in summary.orderingLines { print("gradient-norm ordering \(line)") }
            print("verdict: \(summary.verdict.outcome.rawValue) — see \(directory.appendingPathComponent("summary.md").path)")
        }
    }
}

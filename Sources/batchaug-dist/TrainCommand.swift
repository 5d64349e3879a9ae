import ArgumentParser
import Collectives
import Engine
import Foundation
import JSON
import RunReport
import SwiftMPI
import Training

/// `batchaug-dist train`: distributed data-parallel training with batch augmentation.
/// Every option can also come from `--config FILE.json` (same names); flags override the file.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model with batch augmentation, data-parallel over the MPI ranks.",
        discussion: """
            Each step, every rank takes its B/N samples, makes M augmented copies of each (--copies), \
            computes gradients in ghost batches of G (--ghost-batch-size), and the ranks sum them with a \
            ring all-reduce. With no options it trains the \(trainingDefaults.model) model on the \
            \(trainingDefaults.dataset) dataset (each option's default is in its line below; --print-config \
            prints them all).
            Epochs count from 0 in the regime, the logs and the files.
            """)

    @Option(help: ArgumentHelp("A JSON object of options (the names of these flags without '--'); flags override it.",
                               valueName: "file"))
    var config: String?

    @OptionGroup var options: TrainOptions

    @Flag(help: ArgumentHelp("Print the configuration these options make (the defaults, then --config, then the flags) as JSON, and exit "
                             + "without training (it is checked against the job only when training starts)."))
    var printConfig = false

    @Flag(help: .hidden) var debugRankChecksums = false

    func validate() throws {
        if printConfig && options.resume != nil {
            throw ValidationError("--print-config shows a new run's configuration; a run to resume has its own in "
                                  + "\(RunFiles.configuration) in its directory")
        }
    }

    func run() throws {
        let options = try options.given()
        if printConfig {
            // No MPI: the configuration is resolved as rank 0 would, and printed once under mpirun.
            let resolved = try TrainingLauncher.resolve(configurationFile: config, options: options).configuration
            if LaunchEnvironment.rank ?? 0 == 0 { print(String(decoding: resolved.json(), as: UTF8.self)) }
            return
        }
        try runJob { world in
            BLAS.useOneThreadPerRank()
            let trainer = try TrainingLauncher.prepare(configurationFile: config, options: options, communicator: world,
                                                       job: try .of(world))
            let summary = try trainer.run()
            if debugRankChecksums {
                // Every rank reports its own parameters (tests compare them across processes).
                print("rank \(world.rank) parameter checksum \(String(summary.parameterChecksum, radix: 16))")
                fflush(nil)
            }
        }
    }
}

extension JobDescription {
    /// What config.json records about this job: versions and every rank's host. Collective.
    static func of(_ world: MPICommunicator) throws -> JobDescription {
        JobDescription(version: BuildInfo.version, mpi: MPIRuntime.libraryVersion, blas: BLAS.description,
                       hosts: try world.allgather(try MPIRuntime.processorName()),
                       kernels: try world.allgather(KernelSet.current.record).map { KernelSet(record: $0) ?? .current })
    }
}

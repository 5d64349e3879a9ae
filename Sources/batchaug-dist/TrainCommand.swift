import ArgumentParser
import Collectives
import Engine
import Foundation
import JSON
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
            ring all-reduce. With no options it trains a small CNN on the synthetic dataset.
            Epochs count from 0 in the regime, the logs and the files.
            """)

    @Option(help: ArgumentHelp("A JSON object of options (the names of these flags without '--'); flags override it.",
                               valueName: "file"))
    var config: String?

    @OptionGroup var options: TrainOptions

    @Flag(help: .hidden) var debugRankChecksums = false

    func run() throws {
        let options = try options.given()
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

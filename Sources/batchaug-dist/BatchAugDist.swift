import ArgumentParser
import Formatting
import Foundation
import SwiftMPI

/// `batchaug-dist`: distributed data-parallel training with batch augmentation over MPI.
/// The executable only parses and validates options; the work is done by the libraries.
@main
struct BatchAugDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batchaug-dist",
        abstract: "Distributed data-parallel training with batch augmentation, over MPI.",
        discussion: """
            Run under `mpirun -np N batchaug-dist …` for N ranks, or alone as a single rank.
            """,
        version: BuildInfo.version,
        subcommands: [Train.self, Eval.self, ExportModel.self, Predict.self, Study.self, Report.self, DataCommand.self, Info.self,
                      Bench.self]
    )

    static func main() {
        KernelEnvironment.settle()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)   // already reported (see `runJob`)
        } catch {
            exitReportingOnce(error)
        }
    }

    /// Prints the message for `error` (a wrong flag or value, `--help`) once for the whole job and
    /// exits every rank with its status, each only after the message is out.
    ///
    /// Every rank sees the same arguments, so every rank fails alike. Under mpirun a rank that
    /// exited at once with a non-zero status would make mpirun abort the job while rank 0 was still
    /// writing, cutting into or cutting off its message; so every rank joins MPI, rank 0 writes the
    /// message, and they meet in a barrier before they finalise and exit.
    static func exitReportingOnce(_ error: any Error) -> Never {
        let code = exitCode(for: error)
        let message = fullMessage(for: error)
        let world = LaunchEnvironment.rank != nil && !MPIRuntime.isFinalized ? try? MPIRuntime.initialize() : nil
        if (world?.rank ?? LaunchEnvironment.rank ?? 0) == 0 && !message.isEmpty {
            if code == .success {
                print(message)
                fflush(nil)
            } else {
                StandardError.write(message + "\n")
            }
        }
        if let world {
            try? world.barrier()
            MPIRuntime.finalize()
        }
        Foundation.exit(code.rawValue)
    }
}

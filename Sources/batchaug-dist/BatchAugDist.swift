import Foundation
import ArgumentParser

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
        subcommands: [Train.self, Eval.self, Study.self, Report.self, Info.self, Bench.self]
    )

    /// Error output goes to every rank's stderr under mpirun; print the usage message on the first
    /// rank only, so that a wrong flag under `-np 8` shows one message, not eight. Every rank still
    /// exits non-zero, so mpirun stops the job at once.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if LaunchEnvironment.rank ?? 0 == 0 {
                exit(withError: error)
            }
            Foundation.exit(exitCode(for: error).rawValue)
        }
    }
}

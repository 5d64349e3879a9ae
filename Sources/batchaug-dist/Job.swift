import ArgumentParser
import Collectives
import Formatting
import Foundation
import SwiftMPI

/// Runs `body` on every rank between `MPI_Init` and `MPI_Finalize`.
///
/// A `CollectiveFailure` (raised by all ranks together) is printed once, by rank 0, and every rank
/// exits with status 1 after finalising — after a barrier, so that no rank's exit makes mpirun
/// abort the job while rank 0 is still writing. Any other error may be local to one rank, so it
/// aborts the whole job with the rank and the message: the other ranks must not be left waiting.
func runJob(_ body: (MPICommunicator) throws -> Void) throws {
    let world: MPICommunicator
    do {
        world = try MPIRuntime.initialize()
    } catch {
        StandardError.report("cannot start MPI: \(error)")
        throw ExitCode.failure
    }
    do {
        try body(world)
    } catch let failure as CollectiveFailure {
        if world.isRoot { StandardError.report(failure.description) }
        try? world.barrier()
        MPIRuntime.finalize()
        throw ExitCode(failure.exitStatus.rawValue)
    } catch let exit as ExitCode {
        MPIRuntime.finalize()
        throw exit
    } catch {
        world.abort(message: "\(error)", code: 1)
    }
    MPIRuntime.finalize()
}

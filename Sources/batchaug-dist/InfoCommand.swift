import ArgumentParser
import Collectives
import Engine
import Foundation
import SwiftMPI

/// `batchaug-dist info`: what the job runs on, printed once by rank 0.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the version, the ranks and their hosts, the MPI and OpenBLAS builds, and the cores.")

    func run() throws {
        try runJob { world in
            let hosts = try world.allgather(try MPIRuntime.processorName())
            let blasThreads = try world.allgather(Int64(BLAS.threads))
            guard world.isRoot else { return }
            var lines = ["batchaug-dist \(BuildInfo.version)"]
            lines.append("ranks      \(world.size)")
            for (rank, host) in hosts.enumerated() {
                lines.append("  rank \(rank)   host \(host), OpenBLAS threads \(blasThreads[rank])")
            }
            lines.append("MPI        \(MPIRuntime.libraryVersion) (MPI standard \(MPIRuntime.standardVersion)); "
                + "shared-memory single copy: \(MPIRuntime.parameter("btl_vader_single_copy_mechanism") ?? "default")")
            lines.append("OpenBLAS   \(BLAS.description)")
            lines.append("cores      \(ProcessInfo.processInfo.activeProcessorCount) online on rank 0's host")
            print(lines.joined(separator: "\n"))
        }
    }
}

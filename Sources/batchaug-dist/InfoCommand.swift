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
            let threads = try world.allgather(Int64(processThreads()))
            let kernels = try world.allgather(KernelSet.current.record)
            let cores = try world.allgather(allowedCores())
            guard world.isRoot else { return }
            var lines = ["batchaug-dist \(BuildInfo.version)"]
            lines.append("ranks      \(world.size)")
            for (rank, host) in hosts.enumerated() {
                lines.append("  rank \(rank)   host \(host), cores \(cores[rank]), OpenBLAS threads \(blasThreads[rank]), "
                    + "threads in the process \(threads[rank]), kernels \(kernels[rank])")
            }
            let ring = world.ringSettings
            lines.append("transport  \(world.hosts.summary); ring all-reduce in chunks of \(ring.chunkBytes / 1024) KiB, "
                + "\(ring.depth) in flight")
            lines.append("MPI        \(MPIRuntime.libraryVersion) (MPI standard \(MPIRuntime.standardVersion)); "
                + "shared-memory single copy: \(MPIRuntime.parameter("btl_vader_single_copy_mechanism") ?? "default")")
            lines.append("OpenBLAS   \(BLAS.description)")
            lines.append("kernels    \(KernelSet.current.summary) (\(KernelEnvironment.coreTypeOrigin))")
            lines.append("cores      \(ProcessInfo.processInfo.activeProcessorCount) online on rank 0's host")
            print(lines.joined(separator: "\n"))
        }
    }

    /// The threads this process runs (Linux's count in /proc/self/status): MPI's own and, where
    /// OpenBLAS started a pool, its workers.
    private func processThreads() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") }
        return line.flatMap { Int($0.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
    }

    /// The cores this process may run on, as Linux lists them ("0-1", "1"): where binding put it.
    private func allowedCores() -> String {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }
        return line.map { $0.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces) } ?? "unknown"
    }
}

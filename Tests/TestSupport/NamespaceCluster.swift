import Foundation

/// A cluster of hosts node1…nodeK on this machine, made by `launch/netns-cluster` (network
/// namespaces on a bridge), and runs on it the way users run them: `launch/run --hostfile`.
///
/// Each worktree uses its own cluster directory, so that a cluster left behind by a killed test
/// run is taken over (and then removed) by the next run instead of accumulating, while test runs
/// of other checkouts on the same machine use clusters of their own.
public final class NamespaceCluster: @unchecked Sendable {
    /// The repository (this file is Tests/TestSupport/NamespaceCluster.swift).
    public static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let script = repository.appendingPathComponent("launch/netns-cluster").path
    public static let launcher = repository.appendingPathComponent("launch/run").path
    /// The status with which `launch/netns-cluster` says namespaces cannot be made here.
    public static let unsupportedStatus: Int32 = 77

    /// Why no cluster can be made on this machine, or nil when one can. Only the script's own
    /// verdict (status 77: no root, no namespaces, no iproute2) counts: any other failure is a
    /// failure of the tests, which then try and report it.
    public static let unavailableReason: String? = {
        guard let outcome = try? runProcess("/bin/bash", [script, "check"], timeout: 60) else {
            return nil
        }
        guard outcome.status == unsupportedStatus else { return nil }
        let reason = outcome.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        FileHandle.standardError.write(Data("skipping the namespace-cluster tests: \(reason)\n".utf8))
        return reason
    }()

    public static var isAvailable: Bool { unavailableReason == nil }

    /// This checkout's cluster directory.
    public static let defaultDirectory: URL = {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in repository.path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return URL(fileURLWithPath: "/tmp/batchaug-dist-test-cluster-\(String(hash, radix: 16))")
    }()

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let directory: URL
    public let hosts: Int
    public var hostfile: String { directory.appendingPathComponent("hostfile").path }
    /// Host k's own directory, which only host k sees at `localDirectory` (its local disk).
    public func nodeDirectory(_ k: Int) -> URL { directory.appendingPathComponent("nodes/node\(k)") }
    public var localDirectory: URL { directory.appendingPathComponent("local") }

    /// Brings up (or reshapes) the cluster: `hosts` hosts, links limited to `rate` if given, with
    /// its own Slurm if `slurm` (`NamespaceSlurm.swift`).
    public init(hosts: Int, rate: String? = nil, slurm: Bool = false, directory: URL = NamespaceCluster.defaultDirectory) throws {
        self.directory = directory
        self.hosts = hosts
        let outcome = try Self.script(["up", "--hosts", "\(hosts)", "--dir", directory.path]
                                      + (rate.map { ["--rate", $0] } ?? []) + (slurm ? ["--slurm"] : []))
        guard outcome.status == 0 else { throw Failure(description: "launch/netns-cluster up failed: \(outcome)") }
    }

    /// Removes everything `up` made.
    @discardableResult
    public func down() throws -> ProcessOutcome {
        try Self.script(["down", "--dir", directory.path])
    }

    /// Runs `launch/netns-cluster ARGS…`. The timeout lies beyond the script's own bounds (30 s for
    /// the hosts to answer, 60 s for Slurm's nodes to register), so a failure is reported by its message.
    public static func script(_ arguments: [String], timeout: Double = 180) throws -> ProcessOutcome {
        try runProcess("/bin/bash", [script] + arguments, timeout: timeout)
    }

    /// Runs a command on host `host` (e.g. "node2") through the cluster's rsh agent, as mpirun does.
    public func onHost(_ host: String, _ command: String) throws -> ProcessOutcome {
        try runProcess(directory.appendingPathComponent("rsh-agent").path, [host, command], timeout: 60)
    }

    /// `launch/run --hostfile DIR/hostfile -- ARGS…` with the built binary: one rank per slot.
    public func run(_ arguments: [String], timeout: Double = 180) throws -> ProcessOutcome {
        try runProcess("/bin/bash", [Self.launcher, "--binary", builtExecutable, "--hostfile", hostfile, "--"] + arguments,
                       environment: ["OPENBLAS_NUM_THREADS": "1"], timeout: timeout)
    }

    /// `launch/run -np RANKS -- ARGS…` with the built binary on this machine's shared memory: the
    /// reference for a run on the cluster, started by the same launcher.
    public static func runLocally(ranks: Int, _ arguments: [String], timeout: Double = 600) throws -> ProcessOutcome {
        try runProcess("/bin/bash", [launcher, "--binary", builtExecutable, "-np", "\(ranks)", "--"] + arguments,
                       environment: ["OPENBLAS_NUM_THREADS": "1"], timeout: timeout)
    }
}

/// The processes of the built `batchaug-dist` whose command line contains `marker` and whose
/// environment says they are MPI rank `rank`.
public func rankProcesses(rank: Int, marker: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
        guard let command = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")),
              let environment = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ")) else { return false }
        let arguments = command.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard arguments.first?.hasSuffix("batchaug-dist") == true, arguments.contains(where: { $0.contains(marker) }) else {
            return false
        }
        return environment.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "OMPI_COMM_WORLD_RANK=\(rank)" }
    }
}

/// The processes whose command line starts with a program named `program` (e.g. "mpirun") and
/// contains `marker`.
public func processes(named program: String, marker: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
        guard let command = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return false }
        let arguments = command.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return arguments.first.map { ($0 as NSString).lastPathComponent == program } == true
            && arguments.contains { $0.contains(marker) }
    }
}

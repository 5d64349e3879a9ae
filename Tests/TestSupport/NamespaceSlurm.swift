import Foundation

/// The Slurm of a namespace cluster brought up with `slurm: true` (`launch/netns-cluster up
/// --slurm`): slurmctld on node1, one slurmd per host, and the commands users type against it.
extension NamespaceCluster {
    /// The project's job script (`launch/batchaug-dist.sbatch`), as users submit it.
    public static let jobScript = repository.appendingPathComponent("launch/batchaug-dist.sbatch").path

    /// Why no cluster with Slurm can be made on this machine, or nil when one can: only the
    /// script's own verdict counts (`check --slurm`, which installs Slurm where it is missing, exits
    /// with status 77 where namespaces or Slurm cannot be had).
    public static let slurmUnavailableReason: String? = {
        guard let outcome = try? runProcess("/bin/bash", [script, "check", "--slurm"], timeout: 900) else { return nil }
        guard outcome.status == unsupportedStatus else { return nil }
        let reason = outcome.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        FileHandle.standardError.write(Data("skipping the Slurm tests: \(reason)\n".utf8))
        return reason
    }()

    public static var isSlurmAvailable: Bool { slurmUnavailableReason == nil }

    /// The cluster's slurm.conf: what `SLURM_CONF` names for its commands.
    public var slurmConfiguration: String { directory.appendingPathComponent("slurm/slurm.conf").path }

    /// Runs a Slurm command (`sbatch`, `scontrol`, `sinfo`, `scancel`, `srun`) against this cluster.
    public func slurm(_ command: String, _ arguments: [String], timeout: Double = 60) throws -> ProcessOutcome {
        try runProcess("/usr/bin/env", [command] + arguments, environment: ["SLURM_CONF": slurmConfiguration], timeout: timeout)
    }

    /// `sbatch --parsable ARGUMENTS…`: the id of the job it queued.
    public func submit(_ arguments: [String]) throws -> Int {
        let outcome = try slurm("sbatch", ["--parsable"] + arguments)
        guard outcome.status == 0, let id = Int(outcome.stdout.split(separator: ";").first?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") else {
            throw Failure(description: "sbatch failed: \(outcome)")
        }
        return id
    }

    /// The job's fields as `scontrol show job` prints them (JobState, Restarts, ExitCode, NodeList, …).
    public func job(_ id: Int) throws -> SlurmJob {
        let outcome = try slurm("scontrol", ["show", "job", "--oneliner", "\(id)"])
        guard outcome.status == 0 else { throw Failure(description: "scontrol show job \(id) failed: \(outcome)") }
        var fields: [String: String] = [:]
        for match in outcome.stdout.matches(of: /([A-Za-z]+)=(\S*)/) { fields[String(match.1)] = String(match.2) }
        return SlurmJob(id: id, fields: fields)
    }

    /// Polls the job every half second until `done` says so, for at most `timeout` seconds; the
    /// last state seen when it never does, so that the failing test shows it.
    public func waitForJob(_ id: Int, timeout: Double, until done: (SlurmJob) -> Bool) throws -> (job: SlurmJob, reached: Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        var job = try self.job(id)
        while !done(job) {
            guard Date() < deadline else { return (job, false) }
            Thread.sleep(forTimeInterval: 0.5)
            job = try self.job(id)
        }
        return (job, true)
    }
}

/// One job as `scontrol show job` describes it.
public struct SlurmJob: Sendable, CustomStringConvertible {
    public let id: Int
    public let fields: [String: String]

    /// The states in which a job has ended for good (a requeued job passes through none of them).
    public static let endStates: Set<String> = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED",
                                                "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"]

    public var state: String { fields["JobState"] ?? "?" }
    public var hasEnded: Bool { Self.endStates.contains(state) }
    /// How often the job was requeued.
    public var restarts: Int { Int(fields["Restarts"] ?? "") ?? 0 }
    public var description: String {
        "job \(id): " + fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}

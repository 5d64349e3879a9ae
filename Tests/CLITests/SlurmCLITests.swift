import Foundation
import Testing
import TestSupport

/// Slurm on the namespace cluster (`launch/netns-cluster up --slurm`): a real slurmctld and one
/// slurmd per host, and the project's job script (`launch/batchaug-dist.sbatch`) submitted with
/// `sbatch` as users submit it. Skipped (with the reason printed) only where network namespaces or
/// Slurm cannot be had; each test removes its cluster, also when it fails.
@Suite("Slurm on the namespace cluster", .serialized,
       .enabled("network namespaces and Slurm can be made here (launch/netns-cluster check --slurm)") {
           NamespaceCluster.isSlurmAvailable
       })
struct SlurmCLITests {
    /// Brings up a cluster with Slurm, runs `body`, and brings it down whatever happened.
    func withSlurm(hosts: Int, _ body: (NamespaceCluster) throws -> Void) throws {
        let cluster = try NamespaceCluster(hosts: hosts, slurm: true)
        defer {
            let outcome = try? cluster.down()
            #expect(outcome?.status == 0, "launch/netns-cluster down: \(String(describing: outcome))")
        }
        try body(cluster)
    }

    /// The processes in the cluster's host namespaces (the Slurm daemons among them).
    func processesOnHosts(_ cluster: NamespaceCluster) throws -> [Int32] {
        let state = try String(contentsOf: cluster.directory.appendingPathComponent("cluster.env"), encoding: .utf8)
        let index = try #require(state.firstMatch(of: /CLUSTER_INDEX=(\d+)/)?.1)
        return try (1 ... cluster.hosts).flatMap { k in
            try runProcess("/usr/bin/env", ["ip", "netns", "pids", "bd\(index)-node\(k)"], timeout: 30).stdout
                .split(separator: "\n").compactMap { Int32($0) }
        }
    }

    /// `sbatch launch/batchaug-dist.sbatch --binary BUILT -- train OPTIONS --resume-or-start RUN`,
    /// the job's output going to JOBS/batchaug-dist-ID.out as the script asks.
    func submitTraining(_ cluster: NamespaceCluster, _ options: [String], run: URL, jobs: URL) throws -> Int {
        try FileManager.default.createDirectory(at: jobs, withIntermediateDirectories: true)
        return try cluster.submit(["--chdir", jobs.path, NamespaceCluster.jobScript, "--binary", builtExecutable, "--"]
                                  + options + ["--resume-or-start", run.path])
    }

    func jobOutput(_ jobs: URL, _ id: Int) -> String {
        (try? String(contentsOf: jobs.appendingPathComponent("batchaug-dist-\(id).out"), encoding: .utf8)) ?? "(no output file)"
    }

    /// The checkpoints of two runs hold the same tensors, bit for bit.
    func expectSameCheckpoint(_ a: URL, _ b: URL, _ what: String) throws {
        let expected = try checkpointTensors(a)
        let actual = try checkpointTensors(b)
        #expect(expected.count > 2 && Set(expected.keys) == Set(actual.keys), "\(what): tensors \(expected.keys.sorted()) vs \(actual.keys.sorted())")
        for (name, values) in expected {
            let difference = bitDifference(values, actual[name] ?? [])
            #expect(difference == nil, "\(what): \(name): \(difference ?? "")")
        }
    }

    @Test("up --slurm: one slurmd per host registers as node1…nodeK and runs tasks there; up again reshapes it; down ends every daemon")
    func lifecycle() throws {
        // Up with 3 hosts, then again with 2: the second up restarts Slurm with the new shape.
        var cluster = try NamespaceCluster(hosts: 3, slurm: true)
        var downed = false
        defer { if !downed { _ = try? cluster.down() } }
        let three = try cluster.slurm("sinfo", ["--Node", "--noheader", "--format=%N %t"])
        #expect(three.stdout.split(separator: "\n") == ["node1 idle", "node2 idle", "node3 idle"], "\(three)")
        cluster = try NamespaceCluster(hosts: 2, slurm: true)
        let status = try NamespaceCluster.script(["status", "--dir", cluster.directory.path])
        #expect(status.stdout.contains("SLURM_CONF=\(cluster.slurmConfiguration)") && !status.stdout.contains("node3"), "\(status)")
        let cores = ProcessInfo.processInfo.activeProcessorCount

        let sinfo = try cluster.slurm("sinfo", ["--Node", "--noheader", "--format=%N %P %t"])
        #expect(sinfo.status == 0 && sinfo.stdout.split(separator: "\n") == ["node1 batch* idle", "node2 batch* idle"], "\(sinfo)")
        let nodes = try cluster.slurm("scontrol", ["show", "nodes", "--oneliner"])
        for k in 1 ... 2 {
            let line = nodes.stdout.split(separator: "\n").first { $0.hasPrefix("NodeName=node\(k) ") } ?? ""
            #expect(line.contains("NodeHostName=node\(k) ") && line.contains("State=IDLE") && line.contains("CPUTot=1 "), "\(nodes)")
        }

        // A task on each host runs in that host's namespace, under its name, on its core, with the
        // cluster's Open MPI settings.
        let tasks = try cluster.slurm("srun", ["--nodes=2", "--ntasks-per-node=1", "--label", "sh", "-c",
                                               "echo $(hostname) $(grep Cpus_allowed_list /proc/self/status | cut -f2) "
                                               + "$(ip -4 -o addr show dev eth0 | wc -l) $OMPI_MCA_mca_base_param_files"], timeout: 120)
        #expect(tasks.status == 0, "\(tasks)")
        let lines = tasks.stdout.split(separator: "\n").map(String.init).sorted()
        let parameters = cluster.directory.appendingPathComponent("mca-params.conf").path
        #expect(lines.count == 2, "\(tasks)")
        for (k, line) in lines.enumerated() {
            #expect(line.hasPrefix("\(k): node\(k + 1) \(k % cores) 1 \(parameters),"), "\(tasks)")
        }

        let daemons = try processesOnHosts(cluster)
        #expect(daemons.count >= 4, "munged, slurmctld and two slurmd expected: \(daemons)")
        let down = try cluster.down()
        downed = true
        #expect(down.status == 0, "\(down)")
        // Ended: gone, or a zombie that only waits for this container's init to collect it.
        let alive = daemons.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
            return stat.split(separator: ")").last?.split(separator: " ").first != "Z"
        }
        #expect(alive.isEmpty, "left running after down: \(alive)")
        #expect(!FileManager.default.fileExists(atPath: cluster.directory.path), "the directory is left behind")
    }

    @Test("the job script under sbatch: mpirun in the allocation, the checkpoint of the same run by launch/run --hostfile, bit for bit")
    func jobScriptMatchesLaunchRun() throws {
        let options = ["train", "--model", "mlp", "--batch-size", "96", "--log-every", "4", "--max-steps", "6",
                       "--dropout", "0.1", "--copies", "2"]
        let reference = scratchDirectory("slurm-reference")
        let run = scratchDirectory("slurm-run")
        let jobs = scratchDirectory("slurm-jobs")
        defer { for directory in [reference, run, jobs] { try? FileManager.default.removeItem(at: directory) } }
        try withSlurm(hosts: 2) { cluster in
            let direct = try cluster.run(options + ["--output", reference.path])
            #expect(direct.status == 0, "\(direct)")

            let submitted = Date()
            let id = try submitTraining(cluster, Array(options.dropFirst()), run: run, jobs: jobs)
            let (job, ended) = try cluster.waitForJob(id, timeout: 300) { $0.hasEnded }
            print("sbatch to the end of job \(id): \(String(format: "%.1f", Date().timeIntervalSince(submitted))) s")
            let output = jobOutput(jobs, id)
            #expect(ended && job.state == "COMPLETED" && job.fields["ExitCode"] == "0:0", "\(job)\n\(output)")
            #expect(job.fields["NodeList"] == "node[1-2]", "\(job)")
            #expect(output.contains("[batchaug-dist.sbatch] train finished"), "\(output)")

            // Open MPI started rank 1 on node2 through Slurm: its daemon ran as a step of the job there.
            let node2 = try String(contentsOf: cluster.directory.appendingPathComponent("slurm/node2/slurmd.log"), encoding: .utf8)
            #expect(node2.contains("launch task StepId=\(id).0 "), "no step of job \(id) on node2:\n\(node2.suffix(3000))")
        }
        let config = try String(contentsOf: run.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(config.contains("\"node1\",\"node2\""), "hosts in \(config)")
        try expectSameCheckpoint(reference, run, "sbatch vs launch/run --hostfile")
    }

    @Test("SIGUSR1 to the job mid-run: a checkpoint, status 75, the job requeues itself and ends bit-identical to an uninterrupted run")
    func signalledJobRequeues() throws {
        let options = ["train", "--model", "mlp", "--batch-size", "96", "--log-every", "4", "--epochs", "30",
                       "--train-samples", "960", "--checkpoint-every", "1", "--eval-every", "0"]
        let reference = scratchDirectory("slurm-uninterrupted")
        let run = scratchDirectory("slurm-requeued")
        let jobs = scratchDirectory("slurm-requeued-jobs")
        defer { for directory in [reference, run, jobs] { try? FileManager.default.removeItem(at: directory) } }
        try withSlurm(hosts: 2) { cluster in
            let direct = try cluster.run(options + ["--output", reference.path], timeout: 300)
            #expect(direct.status == 0, "\(direct)")

            let id = try submitTraining(cluster, Array(options.dropFirst()), run: run, jobs: jobs)
            // Signal once the run has written its first checkpoint (its signal handlers are in place).
            let checkpoint = run.appendingPathComponent("checkpoint/checkpoint.json")
            let (started, _) = try cluster.waitForJob(id, timeout: 240) {
                $0.hasEnded || ($0.state == "RUNNING" && FileManager.default.fileExists(atPath: checkpoint.path))
            }
            try #require(started.state == "RUNNING", "\(started)\n\(jobOutput(jobs, id))")
            let signalled = Date()
            let scancel = try cluster.slurm("scancel", ["--signal=USR1", "--batch", "\(id)"])
            #expect(scancel.status == 0, "\(scancel)")

            let (requeued, wasRequeued) = try cluster.waitForJob(id, timeout: 120) { $0.restarts >= 1 || $0.hasEnded }
            let stopSeconds = Date().timeIntervalSince(signalled)
            #expect(wasRequeued && requeued.restarts == 1, "\(requeued)\n\(jobOutput(jobs, id))")
            let (job, ended) = try cluster.waitForJob(id, timeout: 300) { $0.hasEnded }
            let totalSeconds = Date().timeIntervalSince(signalled)
            print("job \(id): requeued \(String(format: "%.1f", stopSeconds)) s after SIGUSR1, "
                  + "finished \(String(format: "%.1f", totalSeconds)) s after it")

            let output = jobOutput(jobs, id)
            #expect(ended && job.state == "COMPLETED" && job.restarts == 1, "\(job)\n\(output)")
            for line in ["[batchaug-dist.sbatch] SIGUSR1: asking the ranks to stop",
                         "[batchaug-dist.sbatch] train stopped with a checkpoint in \(run.path); requeueing job \(id)",
                         "stopped by SIGUSR1", "(run 2 of it)", "[batchaug-dist.sbatch] train finished"] {
                #expect(output.contains(line), "missing '\(line)' in:\n\(output)")
            }
        }
        try expectSameCheckpoint(reference, run, "requeued job vs uninterrupted run")
    }
}

import Checkpoints
import Foundation
import Testing
import TestSupport

/// Multi-host runs on the namespace cluster of `launch/netns-cluster`: hosts node1…nodeK on this
/// machine, TCP between them, started with `launch/run --hostfile` as users do. Skipped (with the
/// reason printed) only where network namespaces cannot be made; each test removes its cluster,
/// also when it fails.
@Suite("multi-host runs on the namespace cluster", .serialized,
       .enabled("network namespaces can be made here (launch/netns-cluster check)") { NamespaceCluster.isAvailable })
struct ClusterCLITests {
    static let quick = ["train", "--model", "mlp", "--batch-size", "96", "--log-every", "4"]

    /// Brings up a cluster, runs `body`, and brings it down whatever happened.
    func withCluster(hosts: Int, rate: String? = nil, _ body: (NamespaceCluster) throws -> Void) throws {
        let cluster = try NamespaceCluster(hosts: hosts, rate: rate)
        defer {
            let outcome = try? cluster.down()
            #expect(outcome?.status == 0, "launch/netns-cluster down: \(String(describing: outcome))")
        }
        try body(cluster)
    }

    @Test("up makes K named hosts on their own cores and links; up again reshapes it; down removes all of it")
    func lifecycle() throws {
        let cluster = try NamespaceCluster(hosts: 2, rate: "100mbit")
        var downed = false
        defer { if !downed { _ = try? cluster.down() } }
        let state = try String(contentsOf: cluster.directory.appendingPathComponent("cluster.env"), encoding: .utf8)
        let index = try #require(state.split(separator: "\n").first { $0.hasPrefix("CLUSTER_INDEX=") }?.split(separator: "=").last)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        // The bridge's own address is set, so hosts joining or leaving cannot change it under the hosts'
        // ARP caches (a changed one cost a reshape 25-48 s of unreachable hosts).
        func bridge(_ attribute: String) throws -> String {
            try String(contentsOfFile: "/sys/class/net/bd\(index)br/\(attribute)", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let bridgeAddress = try bridge("address")
        #expect(try bridge("addr_assign_type") == "3", "the bridge's address is not set (NET_ADDR_SET): \(bridgeAddress)")

        for k in 1 ... 2 {
            let probe = try cluster.onHost("node\(k)", "hostname; grep Cpus_allowed_list /proc/self/status; "
                                           + "ip -4 -br addr show dev eth0; tc qdisc show dev eth0")
            #expect(probe.status == 0, "\(probe)")
            let lines = probe.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "node\(k)", "\(probe)")
            #expect(lines.contains { $0.hasSuffix("\t\((k - 1) % cores)") }, "host \(k) should run on core \((k - 1) % cores): \(probe)")
            #expect(lines.contains { $0.contains("tbf") && $0.contains("100Mbit") }, "\(probe)")
        }
        #expect(try String(contentsOfFile: cluster.hostfile, encoding: .utf8).contains("node2 slots=1"))

        // The same run as users start it: one rank per host, each on its host's core, TCP between.
        let info = try cluster.run(["info"], timeout: 60)
        #expect(info.status == 0, "\(info)")
        #expect(info.stdout.contains("rank 0   host node1, cores 0,"), "\(info)")
        #expect(info.stdout.contains("rank 1   host node2, cores \(1 % cores),"), "\(info)")
        #expect(info.stdout.contains("2 ranks on 2 hosts (network)"), "\(info)")

        // Up again with other options changes the cluster in place.
        let reshaped = try NamespaceCluster(hosts: 3)
        let status = try NamespaceCluster.script(["status", "--dir", reshaped.directory.path])
        #expect(status.stdout.contains("3 hosts") && status.stdout.contains("node3"), "\(status)")
        let unlimited = try reshaped.onHost("node1", "tc qdisc show dev eth0")
        #expect(!unlimited.stdout.contains("tbf"), "\(unlimited)")
        #expect(try bridge("address") == bridgeAddress, "a reshape changed the bridge's address")

        let down = try cluster.down()
        downed = true
        #expect(down.status == 0, "\(down)")
        let namespaces = try runProcess("/usr/bin/env", ["ip", "netns", "list"], timeout: 30)
        #expect(!namespaces.stdout.contains("bd\(index)-node"), "left behind: \(namespaces.stdout)")
        let bridge = try runProcess("/usr/bin/env", ["ip", "link", "show", "bd\(index)br"], timeout: 30)
        #expect(bridge.status != 0, "the bridge is left behind")
        #expect(!FileManager.default.fileExists(atPath: cluster.directory.path), "the directory is left behind")
        #expect(try cluster.down().status == 0)   // down when nothing is up: nothing to do
    }

    @Test("bad options name the option; status of no cluster says so")
    func refusals() throws {
        let hosts = try NamespaceCluster.script(["up", "--hosts", "0", "--dir", "/tmp/batchaug-dist-never"])
        #expect(hosts.status == 1 && hosts.stderr.contains("--hosts"), "\(hosts)")
        let rate = try NamespaceCluster.script(["up", "--rate", "fast", "--dir", "/tmp/batchaug-dist-never"])
        #expect(rate.status == 1 && rate.stderr.contains("--rate"), "\(rate)")
        let status = try NamespaceCluster.script(["status", "--dir", "/tmp/batchaug-dist-never"])
        #expect(status.status == 1 && status.stdout.contains("no cluster"), "\(status)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/batchaug-dist-never"))
    }

    @Test("a run over TCP between hosts ends with the checkpoint of the same run on shared memory, bit for bit",
          arguments: [2, 3])
    func sameResultOnEveryTransport(ranks: Int) throws {
        // --allreduce ring: at 3 ranks MPI_Allreduce may add in another order than the ring, and
        // auto may choose differently on each transport; at 2 ranks every choice gives the same bits.
        let options = Self.quick + ["--max-steps", "6", "--dropout", "0.1", "--copies", "2"]
            + (ranks == 2 ? [] : ["--allreduce", "ring"])
        let local = scratchDirectory("local\(ranks)")
        let hosted = scratchDirectory("hosts\(ranks)")
        let shared = try NamespaceCluster.runLocally(ranks: ranks, options + ["--output", local.path])
        #expect(shared.status == 0, "\(shared)")
        try withCluster(hosts: ranks) { cluster in
            let tcp = try cluster.run(options + ["--output", hosted.path])
            #expect(tcp.status == 0, "\(tcp)")
            #expect(tcp.stdout.contains("\(ranks) ranks"), "\(tcp)")
        }
        let config = try String(contentsOf: hosted.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(config.contains((1 ... ranks).map { "\"node\($0)\"" }.joined(separator: ",")), "hosts in \(config)")
        let a = try Data(contentsOf: local.appendingPathComponent("checkpoint/model.safetensors"))
        let b = try Data(contentsOf: hosted.appendingPathComponent("checkpoint/model.safetensors"))
        #expect(a.count > 1000 && SHA256.hexDigest(of: [UInt8](a)) == SHA256.hexDigest(of: [UInt8](b)), "model.safetensors differs between shared memory and TCP at \(ranks) ranks")
    }

    @Test("kill -9 of one host's rank ends the job within seconds naming rank and host; --resume finishes bit-identically")
    func killedHost() throws {
        let output = scratchDirectory("killed")
        let reference = scratchDirectory("uninterrupted")
        let options = Self.quick + ["--epochs", "6", "--train-samples", "480", "--checkpoint-every", "1", "--eval-every", "0"]
        let uninterrupted = try NamespaceCluster.runLocally(ranks: 2, options + ["--output", reference.path], timeout: 300)
        #expect(uninterrupted.status == 0, "\(uninterrupted)")

        try withCluster(hosts: 2) { cluster in
            let finished = Finished()
            Thread {
                finished.set(try? cluster.run(options + ["--output", output.path], timeout: 300))
            }.start()
            // Wait for the first checkpoint, then kill the rank on node2 as a dying host would.
            let checkpoint = output.appendingPathComponent("checkpoint/checkpoint.json")
            var waited = 0.0
            while !FileManager.default.fileExists(atPath: checkpoint.path) && waited < 240 && !finished.isSet {
                Thread.sleep(forTimeInterval: 0.1)
                waited += 0.1
            }
            let victims = rankProcesses(rank: 1, marker: output.path)
            try #require(victims.count == 1 && !finished.isSet, "no single rank 1 to kill: \(victims)")
            let killed = Date()
            kill(victims[0], SIGKILL)
            let outcome = try #require(finished.wait(seconds: 60), "the job did not end within 60 s of the kill")
            let seconds = Date().timeIntervalSince(killed)
            #expect(outcome.status != 0, "\(outcome)")
            // The bound above is against a hang; how fast it ends is a figure, printed (a
            // wall-clock expectation would fail on a loaded machine).
            print("kill -9 of rank 1 on node2: the job ended \(String(format: "%.1f", seconds)) s after the kill")
            #expect(outcome.stderr.contains("rank 1") && outcome.stderr.contains("node2"), "\(outcome)")
            #expect(outcome.stderr.contains("--resume \(output.path)"), "\(outcome)")

            let resumed = try cluster.run(["train", "--resume", output.path], timeout: 300)
            #expect(resumed.status == 0, "\(resumed)")
            #expect(resumed.stdout.contains("resuming at epoch"), "\(resumed)")
        }
        let a = try Data(contentsOf: reference.appendingPathComponent("checkpoint/model.safetensors"))
        let b = try Data(contentsOf: output.appendingPathComponent("checkpoint/model.safetensors"))
        #expect(SHA256.hexDigest(of: [UInt8](a)) == SHA256.hexDigest(of: [UInt8](b)), "the resumed run does not end where the uninterrupted one does")
    }

    @Test("a rank stopped with SIGSTOP, or a link taken down, ends the job within the collective timeout plus 30 s naming the rank or host; the resume is bit-identical")
    func hangs() throws {
        let timeout = 10.0
        // The ring: every wait of its sum is a test loop that sees the timeout. (MPI_Allreduce sums
        // inside one blocking call: a rank stopped in the middle of it is found by the process
        // watchdog at timeout + 25 s, which does not name it — HangWatch.)
        let options = Self.quick + ["--epochs", "6", "--train-samples", "480", "--checkpoint-every", "1", "--eval-every", "0",
                                    "--collective-timeout", "\(Int(timeout))", "--allreduce", "ring"]
        let reference = scratchDirectory("hang-reference")
        let uninterrupted = try NamespaceCluster.runLocally(ranks: 2, options + ["--output", reference.path], timeout: 300)
        #expect(uninterrupted.status == 0, "\(uninterrupted)")
        let expected = try Data(contentsOf: reference.appendingPathComponent("checkpoint/model.safetensors"))

        for fault in ["SIGSTOP", "link down"] {
            let output = scratchDirectory("hang-\(fault.replacingOccurrences(of: " ", with: "-"))")
            try withCluster(hosts: 2) { cluster in
                let finished = Finished()
                Thread { finished.set(try? cluster.run(options + ["--output", output.path], timeout: 300)) }.start()
                let checkpoint = output.appendingPathComponent("checkpoint/checkpoint.json")
                var waited = 0.0
                while !FileManager.default.fileExists(atPath: checkpoint.path) && waited < 240 && !finished.isSet {
                    Thread.sleep(forTimeInterval: 0.1)
                    waited += 0.1
                }
                let victims = rankProcesses(rank: 1, marker: output.path)
                try #require(victims.count == 1 && !finished.isSet, "no single rank 1 to stop: \(victims)")
                let faulted = Date()
                if fault == "SIGSTOP" {
                    kill(victims[0], SIGSTOP)
                } else {
                    let down = try cluster.onHost("node2", "ip link set eth0 down")
                    #expect(down.status == 0, "\(down)")
                }
                defer {
                    kill(victims[0], SIGKILL)
                    _ = try? cluster.onHost("node2", "ip link set eth0 up")
                }
                let outcome = try #require(finished.wait(seconds: timeout + 60), "the job did not end after \(fault)")
                let seconds = Date().timeIntervalSince(faulted)
                print("\(fault) of rank 1 on node2 with --collective-timeout \(Int(timeout)): the job ended "
                      + "\(String(format: "%.1f", seconds)) s later")
                #expect(outcome.status != 0, "\(outcome)")
                #expect(seconds < timeout + 30, "\(fault): \(seconds) s")
                // Named by our watchdog (rank and host) or, when mpirun loses the host's daemon
                // first over the dead link, by Open MPI (the host).
                #expect(outcome.stderr.contains("node2") && (outcome.stderr.contains("rank 1 (host node2) made no progress")
                                                             || outcome.stderr.contains("lost communication")), "\(outcome)")
                if fault == "SIGSTOP" {
                    #expect(outcome.stderr.contains("rank 1 (host node2) made no progress"), "\(outcome)")
                }
                kill(victims[0], SIGKILL)
                _ = try cluster.onHost("node2", "ip link set eth0 up")
                let resumed = try cluster.run(["train", "--resume", output.path], timeout: 300)
                #expect(resumed.status == 0, "\(resumed)")
            }
            let b = try Data(contentsOf: output.appendingPathComponent("checkpoint/model.safetensors"))
            #expect(SHA256.hexDigest(of: [UInt8](expected)) == SHA256.hexDigest(of: [UInt8](b)),
                    "\(fault): the resumed run does not end where the uninterrupted one does")
        }
    }

    @Test("a host slowed to half speed is named as the straggler; metrics.jsonl holds every rank's busy and waiting seconds")
    func straggler() throws {
        let output = scratchDirectory("straggler")
        try withCluster(hosts: 2) { cluster in
            let finished = Finished()
            Thread {
                finished.set(try? cluster.run(["train", "--model", "cnn", "--batch-size", "64", "--epochs", "2",
                                               "--train-samples", "5760", "--eval-every", "0", "--log-every", "30",
                                               "--output", output.path], timeout: 300))
            }.start()
            var victims: [Int32] = []
            var waited = 0.0
            while victims.isEmpty && waited < 60 && !finished.isSet {
                Thread.sleep(forTimeInterval: 0.02)
                waited += 0.02
                victims = rankProcesses(rank: 1, marker: output.path)
            }
            try #require(victims.count == 1, "no single rank 1 to slow down: \(victims)")
            // node2 at half speed, whatever else the machine runs: its rank stopped 25 ms of every 50
            // (a CPU hog on its core was not enough where the scheduler shared the core otherwise).
            while !finished.isSet {
                kill(victims[0], SIGSTOP)
                Thread.sleep(forTimeInterval: 0.025)
                kill(victims[0], SIGCONT)
                Thread.sleep(forTimeInterval: 0.025)
            }
            let outcome = try #require(finished.wait(seconds: 1), "the run's outcome")
            #expect(outcome.status == 0, "\(outcome)")
            let lines = outcome.stdout.split(separator: "\n").filter { $0.hasPrefix("straggler in epoch ") }
            #expect(lines.count == 2 && lines.allSatisfy { $0.contains("rank 1 (host node2) was busy") }, "\(outcome)")
        }
        let epochs = try String(contentsOf: output.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["type"] as? String == "epoch" }
        #expect(epochs.count == 2)
        for epoch in epochs {
            let busy = try #require(epoch["rank_compute_seconds"] as? [Double], "\(epoch)")
            let waited = try #require(epoch["rank_wait_seconds"] as? [Double], "\(epoch)")
            #expect(busy.count == 2 && waited.count == 2 && busy[1] > busy[0] && waited[0] > waited[1], "\(epoch)")
        }
        // results.csv keeps its columns of numbers.
        let header = try String(contentsOf: output.appendingPathComponent("results.csv"), encoding: .utf8)
            .split(separator: "\n").first ?? ""
        #expect(!header.contains("rank_"), "\(header)")
    }

    @Test("a host without the data directory stops every rank with one message naming it")
    func missingDataOnOneHost() throws {
        try withCluster(hosts: 2) { cluster in
            // node1's local disk holds Fashion-MNIST; node2's is empty.
            let data = cluster.nodeDirectory(1).appendingPathComponent("fashion-mnist")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            let source = "/usr/share/datasets/fashion-mnist"
            for file in try FileManager.default.contentsOfDirectory(atPath: source) {
                try FileManager.default.createSymbolicLink(atPath: data.appendingPathComponent(file).path,
                                                           withDestinationPath: source + "/" + file)
            }
            let directory = cluster.localDirectory.appendingPathComponent("fashion-mnist").path
            let outcome = try cluster.run(["train", "--model", "mlp", "--dataset", "fashion-mnist", "--data-dir", directory,
                                           "--max-steps", "2", "--output", scratchDirectory("nodata").path], timeout: 120)
            #expect(outcome.status != 0 && !outcome.timedOut, "\(outcome)")
            let messages = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("batchaug-dist:") }
            #expect(messages.count == 1, "\(outcome)")
            #expect(messages.first?.contains("rank 1") == true && messages.first?.contains(directory) == true
                    && messages.first?.contains("node2") == true, "\(outcome)")
        }
    }

    @Test("bench allreduce between hosts: every algorithm verified, auto names its choice")
    func allreduceBetweenHosts() throws {
        try withCluster(hosts: 2) { cluster in
            let outcome = try cluster.run(["bench", "allreduce", "--algo", "all", "--verify", "--iters", "2", "--json",
                                           "--counts", "1,1000,300000"], timeout: 120)
            #expect(outcome.status == 0, "\(outcome)")
            let records = outcome.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            #expect(records.count == 9, "\(outcome)")
            #expect(records.allSatisfy { $0["hosts"] as? Int == 2 && $0["verified"] as? Bool == true }, "\(outcome)")
            #expect(records.filter { $0["algo"] as? String == "auto" }.allSatisfy { ["ring", "mpi"].contains($0["chose"] as? String) })
        }
    }
}

/// The outcome of a run on another thread, once it ends.
final class Finished: @unchecked Sendable {
    private let condition = NSCondition()
    private var outcome: ProcessOutcome?
    private var done = false

    func set(_ value: ProcessOutcome?) {
        condition.lock()
        outcome = value
        done = true
        condition.broadcast()
        condition.unlock()
    }

    var isSet: Bool {
        condition.lock()
        defer { condition.unlock() }
        return done
    }

    func wait(seconds: Double) -> ProcessOutcome? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(seconds)
        while !done && condition.wait(until: deadline) {}
        return outcome
    }
}

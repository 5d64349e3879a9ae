import Foundation

/// What a finished child process left behind.
public struct ProcessOutcome: CustomStringConvertible, Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    public let timedOut: Bool
    public let seconds: Double

    public var description: String {
        "exit \(status)\(timedOut ? " (killed by the watchdog)" : "") after \(String(format: "%.1f", seconds)) s\n"
            + "--- stdout\n\(stdout)\n--- stderr\n\(stderr)"
    }
}

/// Runs a program with no standard input, drains both output pipes while it runs (a full pipe
/// would block the child), and kills it after `timeout` seconds, so that a hang fails the test
/// instead of stalling CI. The child's environment is this process's, without the variables
/// named in `removing`, with `environment` set over it.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                       removing: Set<String> = [], timeout: Double) throws -> ProcessOutcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.filter { !removing.contains($0.key) }
        .merging(environment) { $1 }
    process.standardInput = FileHandle.nullDevice
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err

    let collected = Collected()
    let readers = DispatchGroup()
    for (pipe, isOut) in [(out, true), (err, false)] {
        readers.enter()
        Thread {
            // What each read(2) gives, not to the end: a child the watchdog killed may leave a
            // grandchild holding the pipe open, and what was written until then explains the failure.
            let descriptor = pipe.fileHandleForReading.fileDescriptor
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count > 0 {
                    collected.append(Data(buffer[..<count]), isOut: isOut)
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    break                        // end of file, or the pipe failed
                }
            }
            readers.leave()
        }.start()
    }

    let start = Date()
    try process.run()
    let pid = process.processIdentifier
    let watchdog = DispatchWorkItem {
        collected.markTimedOut()
        kill(pid, SIGTERM)                   // mpirun forwards SIGTERM to its ranks
        Thread.sleep(forTimeInterval: 3)
        kill(pid, SIGKILL)
    }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
    process.waitUntilExit()
    watchdog.cancel()
    _ = readers.wait(timeout: .now() + 10)
    return ProcessOutcome(status: process.terminationStatus, stdout: collected.stdout, stderr: collected.stderr,
                          timedOut: collected.timedOut, seconds: Date().timeIntervalSince(start))
}

private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var out = Data(), err = Data(), killed = false
    func append(_ data: Data, isOut: Bool) { lock.lock(); if isOut { out += data } else { err += data }; lock.unlock() }
    func markTimedOut() { lock.lock(); killed = true; lock.unlock() }
    var stdout: String { lock.lock(); defer { lock.unlock() }; return String(decoding: out, as: UTF8.self) }
    var stderr: String { lock.lock(); defer { lock.unlock() }; return String(decoding: err, as: UTF8.self) }
    var timedOut: Bool { lock.lock(); defer { lock.unlock() }; return killed }
}

/// The `batchaug-dist` executable built beside this test bundle.
public var builtExecutable: String {
    let here = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    return here.appendingPathComponent("batchaug-dist").path
}

/// Runs the built `batchaug-dist` under `mpirun -np ranks` (oversubscribed, root allowed, one BLAS
/// thread per rank), or directly when `ranks` is nil.
public func runBatchAugDist(ranks: Int?, _ arguments: [String], timeout: Double = 600,
                            environment: [String: String] = [:], launcherOptions: [String] = []) throws -> ProcessOutcome {
    var env = ["OPENBLAS_NUM_THREADS": "1", "OMPI_MCA_pml": "ob1",
               "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
               "OMPI_MCA_rmaps_base_oversubscribe": "1"]
    env.merge(environment) { $1 }
    guard let ranks else {
        return try runProcess(builtExecutable, arguments, environment: env, timeout: timeout)
    }
    let launcher = ["-np", "\(ranks)", "--oversubscribe", "--bind-to", "none"] + launcherOptions + [builtExecutable]
    return try runProcess(mpirunPath, launcher + arguments, environment: env, timeout: timeout)
}

/// One rank's output streams.
public struct RankOutput: Sendable {
    public let stdout: String
    public let stderr: String
}

/// `runBatchAugDist` under `mpirun -np ranks --output-filename DIR`: mpirun writes each rank's
/// output to files of its own, so `ranks[r]` is what rank r wrote, in full and in order, however
/// the ranks' output and mpirun's own messages interleave on mpirun's streams (`outcome`).
public func runBatchAugDistPerRank(ranks: Int, _ arguments: [String], timeout: Double = 600)
    throws -> (outcome: ProcessOutcome, ranks: [RankOutput]) {
    let directory = scratchDirectory("ranks")
    defer { try? FileManager.default.removeItem(at: directory) }
    let outcome = try runBatchAugDist(ranks: ranks, arguments, timeout: timeout,
                                      launcherOptions: ["--output-filename", directory.path])
    // DIR/<job>/rank.<r>/{stdout,stderr}
    let job = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.first ?? "1"
    let outputs = (0 ..< ranks).map { rank in
        let folder = directory.appendingPathComponent(job).appendingPathComponent("rank.\(rank)")
        func read(_ name: String) -> String {
            (try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)) ?? ""
        }
        return RankOutput(stdout: read("stdout"), stderr: read("stderr"))
    }
    return (outcome, outputs)
}

public var mpirunPath: String {
    for candidate in ["/usr/bin/mpirun", "/usr/local/bin/mpirun"] where FileManager.default.isExecutableFile(atPath: candidate) {
        return candidate
    }
    return "/usr/bin/mpirun"
}

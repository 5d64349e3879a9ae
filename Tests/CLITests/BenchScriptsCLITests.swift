import Foundation
import Testing
import TestSupport

/// The Python scripts under bench/ that the performance figures come from, run on stand-in
/// commands that print the JSON line a benchmark prints (or die as a benchmark can).
@Suite("bench scripts")
struct BenchScriptsCLITests {
    static let sideBySide = NamespaceCluster.repository.appendingPathComponent("bench/side_by_side.py").path

    /// A stand-in benchmark: prints `images_per_cpu_second` = RATE, unless MODE says to die first
    /// ("hup-once": by SIGHUP the first time FLAG is absent; "hup": by SIGHUP always; "segv").
    static let standIn = """
        import json, os, signal, sys
        rate, mode, flag = float(sys.argv[1]), sys.argv[2], sys.argv[3]
        if mode == "hup" or (mode == "hup-once" and not os.path.exists(flag)):
            open(flag, "w").close()
            signal.signal(signal.SIGHUP, signal.SIG_DFL)   # nohup may have it ignored,
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGHUP])   # a test runner blocked
            os.kill(os.getpid(), signal.SIGHUP)
        if mode == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        print(json.dumps({"images_per_cpu_second": rate, "kernels": "Stand/in"}))
        """

    func sideBySide(ours mode: String, in directory: URL) throws -> ProcessOutcome {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = directory.appendingPathComponent("stand_in.py")
        try Data(Self.standIn.utf8).write(to: script)
        let flag = directory.appendingPathComponent("flag").path
        return try runProcess("/usr/bin/env", ["python3", Self.sideBySide, "--model", "standin", "--rounds", "2",
                                               "--core", "0", "--slice", "0.05",
                                               "--ours", "python3 \(script.path) 20 \(mode) \(flag)",
                                               "--reference", "python3 \(script.path) 10 ok \(flag)"], timeout: 120)
    }

    @Test("side_by_side.py: a round that loses a process to SIGHUP runs again once, saying so; a second loss or a crash ends the run naming side and signal")
    func sideBySideInterruptions() throws {
        let clean = try sideBySide(ours: "ok", in: scratchDirectory("sbs-clean"))
        #expect(clean.status == 0 && clean.stdout.contains("standin median ratio 2.000 (rounds 2.000, 2.000)")
                && clean.stdout.contains("standin: ours on kernels Stand/in"), "\(clean)")

        let once = try sideBySide(ours: "hup-once", in: scratchDirectory("sbs-hup-once"))
        #expect(once.status == 0, "\(once)")
        #expect(once.stdout.contains("standin round 1: ours was killed by SIGHUP; running the round again"), "\(once)")
        #expect(once.stdout.contains("standin median ratio 2.000 (rounds 2.000, 2.000)"), "\(once)")

        for (mode, message) in [("hup", "ours was killed by SIGHUP"), ("segv", "ours was killed by SIGSEGV")] {
            let failed = try sideBySide(ours: mode, in: scratchDirectory("sbs-\(mode)"))
            #expect(failed.status == 1 && failed.stderr.contains("side_by_side.py: \(message)")
                    && !failed.stderr.contains("Traceback") && !failed.stdout.contains("median ratio"), "\(failed)")
        }
    }
}

import Foundation
import Testing
import TestSupport

/// The binary chooses its kernels (OpenBLAS's core and threads), whatever started it: plain
/// `mpirun` computes what `launch/run` computes, and runs record their kernels.
@Suite("kernels chosen by the binary", .serialized)
struct KernelChoiceCLITests {
    /// Everything a user's shell might set that decides OpenBLAS's kernels or threads.
    static let blasVariables: Set<String> = ["OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OMP_NUM_THREADS",
                                            "GOTO_NUM_THREADS"]
    static let mpiEnvironment = ["OMPI_MCA_pml": "ob1", "OMPI_ALLOW_RUN_AS_ROOT": "1",
                                 "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1"]
    /// The cnn's classifier and the mlp run on OpenBLAS's sgemm: the core decides their bits.
    static let quick = ["train", "--model", "mlp", "--batch-size", "64", "--copies", "2", "--max-steps", "4",
                        "--log-every", "2", "--eval-every", "0"]

    /// `mpirun -np 2 batchaug-dist ARGS…` from a shell that sets nothing for OpenBLAS.
    func plainMPIRun(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessOutcome {
        try runProcess(mpirunPath, ["-np", "2", builtExecutable] + arguments,
                       environment: Self.mpiEnvironment.merging(environment) { $1 }, removing: Self.blasVariables,
                       timeout: 300)
    }

    /// The OpenBLAS kernels this machine's instruction sets call for (nil: OpenBLAS's own choice).
    static var expectedCore: String? {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let flags = Set(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?
            .split(separator: ":").last?.split(separator: " ").map(String.init) ?? [])
        if flags.isSuperset(of: ["avx512f", "avx512vl", "avx512bw"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    func kernels(of run: URL) throws -> String? {
        let data = try Data(contentsOf: run.appendingPathComponent("config.json"))
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return object?["kernels"] as? String
    }

    @Test("plain mpirun and launch/run train bit-identical checkpoints on the same kernels")
    func plainMPIRunEqualsLauncher() throws {
        let plain = scratchDirectory("kernels-plain"), launched = scratchDirectory("kernels-launched")
        let a = try plainMPIRun(Self.quick + ["--output", plain.path])
        #expect(a.status == 0, "\(a)")
        let b = try runProcess("/bin/bash", [NamespaceCluster.launcher, "--binary", builtExecutable, "-np", "2", "--"]
                                   + Self.quick + ["--output", launched.path],
                               removing: Self.blasVariables, timeout: 300)
        #expect(b.status == 0, "\(b)")
        let x = try checkpointTensors(plain), y = try checkpointTensors(launched)
        #expect(x.count > 3 && x.keys.sorted() == y.keys.sorted())
        for (name, values) in x { #expect(bitDifference(values, y[name] ?? []) == nil, "\(name) differs") }
        let recorded = try kernels(of: plain), other = try kernels(of: launched)
        #expect(recorded != nil && recorded == other, "\(String(describing: recorded)) / \(String(describing: other))")
        // The kernels are chosen by instruction set, not left to OpenBLAS's choice by CPU model.
        if let expected = Self.expectedCore {
            #expect(recorded?.hasPrefix(expected + "/") == true, "\(String(describing: recorded)), expected \(expected)")
        }
    }

    @Test("info shows the same kernels both ways, one OpenBLAS thread per rank, and no threads more than with OPENBLAS_NUM_THREADS=1")
    func infoBothWays() throws {
        func ranks(_ outcome: ProcessOutcome) -> [String] {
            outcome.stdout.split(separator: "\n").filter { $0.hasPrefix("  rank ") }.map(String.init)
        }
        let plain = try plainMPIRun(["info"])
        #expect(plain.status == 0, "\(plain)")
        let launched = try runProcess("/bin/bash", [NamespaceCluster.launcher, "--binary", builtExecutable, "-np", "2", "--",
                                                    "info"], removing: Self.blasVariables, timeout: 120)
        #expect(launched.status == 0, "\(launched)")
        // Told explicitly, as the launcher used to: the threads OpenBLAS starts for that setting.
        let told = try plainMPIRun(["info"], environment: ["OPENBLAS_NUM_THREADS": "1"])
        #expect(told.status == 0, "\(told)")
        for outcome in [plain, launched, told] {
            let lines = ranks(outcome)
            #expect(lines.count == 2, "\(outcome)")
            for line in lines { #expect(line.contains("OpenBLAS threads 1,"), "\(line)") }
        }
        // "  rank 0   host vm, cores 0, OpenBLAS threads 1, threads in the process 3, kernels SkylakeX/avx512"
        func field(_ line: String, after key: String) -> String {
            String(line.components(separatedBy: key).last?.split(separator: ",").first ?? "")
        }
        for (p, t) in zip(ranks(plain), ranks(told)) {
            #expect(field(p, after: "threads in the process ") == field(t, after: "threads in the process "), "\(p) / \(t)")
        }
        let kernelsPlain = ranks(plain).map { field($0, after: "kernels ") }
        #expect(kernelsPlain == ranks(launched).map { field($0, after: "kernels ") } && !kernelsPlain[0].isEmpty)
        #expect(plain.stdout.contains("kernels    OpenBLAS core"), "\(plain)")
    }

    @Test("bench step --json records the kernels it ran on: the environment's core when it names one, else the binary's choice")
    func benchStepRecordsKernels() throws {
        func recorded(_ environment: [String: String]) throws -> String? {
            let outcome = try runProcess(builtExecutable, ["bench", "step", "--model", "resnet8", "--batch-size", "4",
                                                           "--size", "16", "--iters", "1", "--json"],
                                         environment: environment, removing: Self.blasVariables, timeout: 120)
            #expect(outcome.status == 0, "\(outcome)")
            let line = outcome.stdout.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""
            return (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["kernels"] as? String
        }
        let told = try recorded(["OPENBLAS_CORETYPE": "Prescott"])
        #expect(told?.hasPrefix("Prescott/") == true, "\(String(describing: told))")
        let chosen = try recorded([:])
        #expect(chosen != nil, "\(String(describing: chosen))")
        if let expected = Self.expectedCore {
            #expect(chosen?.hasPrefix(expected + "/") == true, "\(String(describing: chosen)), expected \(expected)")
        }
    }

    @Test("a run records its kernels in config.json and the checkpoint; a resume on other kernels says its bits will differ")
    func resumeOnOtherKernels() throws {
        let run = scratchDirectory("kernels-resume")
        let first = try plainMPIRun(Self.quick + ["--output", run.path, "--max-steps", "2", "--checkpoint-every", "1"],
                                    environment: ["OPENBLAS_CORETYPE": "Prescott"])
        #expect(first.status == 0, "\(first)")
        let configured = try kernels(of: run)
        #expect(configured?.hasPrefix("Prescott/") == true, "\(String(describing: configured))")
        let info = try Data(contentsOf: run.appendingPathComponent("checkpoint/checkpoint.json"))
        let extra = (try JSONSerialization.jsonObject(with: info) as? [String: Any])?["extra"] as? [String: Any]
        let recorded = extra?["kernels"] as? String
        #expect(recorded?.hasPrefix("Prescott/") == true, "\(String(describing: recorded))")

        let resumed = try plainMPIRun(["train", "--resume", run.path, "--max-steps", "4"])
        #expect(resumed.status == 0, "\(resumed)")
        #expect(resumed.stdout.contains("note: the checkpoint was written on other kernels (Prescott/"), "\(resumed)")
        #expect(resumed.stdout.contains("its last bits will differ"), "\(resumed)")
        let same = try plainMPIRun(["train", "--resume", run.path, "--max-steps", "6"])
        #expect(same.status == 0 && !same.stdout.contains("other kernels"), "\(same)")
    }
}

import Engine
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The kernels are the binary's decision, whatever started it (`mpirun` without `launch/`, a Slurm
/// step, a shell): OpenBLAS reads its thread count and kernels from the environment when it is
/// loaded, before `main`, so where the environment is not what `BLAS.environment` wants, the
/// process sets it and executes itself again, before MPI is initialised (the same process, so
/// the launcher still knows it).
enum KernelEnvironment {
    /// Set in the environment of the second image to the names the first one set, so that it never
    /// executes itself again and knows which values were its own.
    static let marker = "BATCHAUG_DIST_KERNELS_SET"

    /// The variables this process set itself.
    nonisolated(unsafe) private(set) static var setByBinary: Set<String> = []

    static func settle() {
        if let names = getenv(marker) {
            setByBinary = Set(String(cString: names).split(separator: ",").map(String.init))
            unsetenv(marker)
            return
        }
        let missing = BLAS.environment(given: ProcessInfo.processInfo.environment, cpuFlags: CPUFeatures.current)
        guard !missing.isEmpty else { return }
        for (name, value) in missing { setenv(name, value, 1) }
        setenv(marker, missing.keys.sorted().joined(separator: ","), 1)
        // The executable by its own path, not /proc/self/exe: the process keeps its name
        // ("batchaug-dist" in ps, top and pkill, not "exe").
        var path = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        let executable = length > 0 ? String(decoding: path[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "/proc/self/exe"
        _ = CommandLine.unsafeArgv.withMemoryRebound(to: UnsafeMutablePointer<CChar>?.self, capacity: Int(CommandLine.argc) + 1) {
            execv(executable, $0)
        }
        // Not reached unless exec failed (no /proc): carry on with the kernels OpenBLAS chose,
        // which config.json and the checkpoints record.
        unsetenv(marker)
    }

    /// "OPENBLAS_CORETYPE=SkylakeX, set by batchaug-dist for this CPU" or "…, from the environment".
    static var coreTypeOrigin: String {
        guard let core = getenv("OPENBLAS_CORETYPE").map({ String(cString: $0) }) else {
            return "OPENBLAS_CORETYPE unset: OpenBLAS chose by CPU model"
        }
        return "OPENBLAS_CORETYPE=\(core), " + (setByBinary.contains("OPENBLAS_CORETYPE") ? "set by batchaug-dist for this CPU" : "from the environment")
    }
}

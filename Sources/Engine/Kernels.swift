import CKernels
import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// The kernels a process computes with: OpenBLAS's (its "core", chosen when the library is
/// loaded) and the engine's own (chosen from the CPU's instruction sets at run time). Two runs on
/// the same kernels give the same bits; on other kernels the last bits differ, which is why every
/// run records its kernel set (config.json, checkpoints) and a resume says when it changes.
public struct KernelSet: Sendable, Equatable {
    /// OpenBLAS's kernels, e.g. "SkylakeX", "Haswell", "Prescott".
    public var blasCore: String
    /// The engine's convolution and batch-norm kernels: "avx512" (the AVX2/FMA kernels with their
    /// AVX-512 paths), "avx2" or "portable".
    public var engine: String

    public init(blasCore: String, engine: String) {
        self.blasCore = blasCore
        self.engine = engine
    }

    /// This process's kernels.
    public static var current: KernelSet {
        let engine: String
        switch InstructionSet.best {
        case .avx2: engine = CPUFeatures.current.contains("avx512f") ? "avx512" : "avx2"
        case .portable: engine = "portable"
        }
        return KernelSet(blasCore: String(cString: openblas_get_corename()), engine: engine)
    }

    /// "OpenBLAS core SkylakeX, engine avx512".
    public var summary: String { "OpenBLAS core \(blasCore), engine \(engine)" }
}

/// The instruction-set flags of this machine's CPU, as Linux lists them in /proc/cpuinfo.
public enum CPUFeatures {
    public static var current: Set<String> {
        guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 8192)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("flags") else { continue }
            return Set(text.split(separator: ":", maxSplits: 1).last?.split(whereSeparator: \.isWhitespace).map(String.init) ?? [])
        }
        return []
    }
}

extension BLAS {
    /// The OpenBLAS kernels to ask for on a CPU with `flags`, by instruction set rather than CPU
    /// model: OpenBLAS picks by model when it loads, and a model newer than the library (Debian
    /// 12's 0.3.21 on a recent Xeon) falls back to its generic "Prescott" kernels, 3–30× slower for
    /// sgemm. nil: let OpenBLAS choose (no AVX2).
    public static func coreType(forCPUFlags flags: Set<String>) -> String? {
        if flags.contains("avx512f") && flags.contains("avx512vl") && flags.contains("avx512bw") { return "SkylakeX" }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        return nil
    }

    /// The environment OpenBLAS must find when it loads, which is before `main`: one thread (the
    /// engine runs one rank per core, and OpenBLAS would otherwise start a pool of threads per
    /// rank that only sleep), and the kernels of `coreType(forCPUFlags:)` unless the environment
    /// already names them (`OPENBLAS_CORETYPE` set by the user wins; it is recorded like any).
    public static func environment(given current: [String: String], cpuFlags: Set<String>) -> [String: String] {
        var wanted = ["OPENBLAS_NUM_THREADS": "1"]
        if current["OPENBLAS_CORETYPE"] == nil, let core = coreType(forCPUFlags: cpuFlags) {
            wanted["OPENBLAS_CORETYPE"] = core
        }
        return wanted.filter { current[$0.key] != $0.value }
    }
}

extension KernelSet {
    /// "SkylakeX/avx512": the set in one word, to gather from every rank or store in a file.
    public var record: String { "\(blasCore)/\(engine)" }

    public init?(record: String) {
        let parts = record.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.init(blasCore: String(parts[0]), engine: String(parts[1]))
    }
}

import Engine
import Testing

/// The kernels the binary asks OpenBLAS for, and how a kernel set is recorded.
@Suite("kernel set")
struct KernelSetTests {
    @Test("OpenBLAS's kernels are chosen by instruction set: AVX-512 → SkylakeX, AVX2+FMA → Haswell, else OpenBLAS's own choice")
    func coreType() {
        #expect(BLAS.coreType(forCPUFlags: ["avx2", "fma", "avx512f", "avx512vl", "avx512bw"]) == "SkylakeX")
        #expect(BLAS.coreType(forCPUFlags: ["avx2", "fma", "avx512f"]) == "Haswell")
        #expect(BLAS.coreType(forCPUFlags: ["avx2", "fma"]) == "Haswell")
        #expect(BLAS.coreType(forCPUFlags: ["sse4_2", "avx"]) == nil)
    }

    @Test("the environment to set: one thread always, the core unless the user named one; nothing when all is set")
    func environment() {
        let avx2: Set<String> = ["avx2", "fma"]
        #expect(BLAS.environment(given: [:], cpuFlags: avx2) == ["OPENBLAS_NUM_THREADS": "1", "OPENBLAS_CORETYPE": "Haswell"])
        #expect(BLAS.environment(given: ["OPENBLAS_CORETYPE": "Prescott"], cpuFlags: avx2) == ["OPENBLAS_NUM_THREADS": "1"])
        #expect(BLAS.environment(given: ["OPENBLAS_NUM_THREADS": "4", "OPENBLAS_CORETYPE": "Haswell"], cpuFlags: avx2)
                    == ["OPENBLAS_NUM_THREADS": "1"])
        #expect(BLAS.environment(given: ["OPENBLAS_NUM_THREADS": "1", "OPENBLAS_CORETYPE": "Haswell"], cpuFlags: avx2).isEmpty)
        #expect(BLAS.environment(given: ["OPENBLAS_NUM_THREADS": "1"], cpuFlags: ["sse2"]).isEmpty)
    }

    @Test("a kernel set is recorded as core/engine and read back; anything else is not a kernel set")
    func record() {
        let set = KernelSet(blasCore: "SkylakeX", engine: "avx512")
        #expect(set.record == "SkylakeX/avx512")
        #expect(KernelSet(record: set.record) == set)
        #expect(KernelSet(record: "SkylakeX") == nil && KernelSet(record: "/avx2") == nil && KernelSet(record: "a/b/c") == nil)
        #expect(KernelSet.current.record.split(separator: "/").count == 2)
    }
}

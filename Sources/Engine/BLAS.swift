import COpenBLAS
import Formatting

/// OpenBLAS as the engine uses it: the thread policy, what build runs, and the single-thread sgemm
/// rate that model FLOP utilisation is measured against. Nothing above the engine calls OpenBLAS.
public enum BLAS {
    /// One OpenBLAS thread in this process. A job runs one rank per core; BLAS threads of their
    /// own would fight the other ranks for the cores. Every command that computes calls this
    /// before its first product.
    public static func useOneThreadPerRank() { openblas_set_num_threads(1) }

    /// The threads OpenBLAS uses for one product.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// The build's configuration and the kernels chosen for this CPU, e.g.
    /// "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64 (core Haswell)".
    public static var description: String {
        "\(String(cString: openblas_get_config())) (core \(String(cString: openblas_get_corename())))"
    }

    /// Single-thread `cblas_sgemm` GFLOP/s on an n³ product: the best of five timed calls after a
    /// warm-up (the machine's practical peak for one core). Leaves OpenBLAS on one thread.
    public static func peakGFLOPs(size n: Int = 1536) -> Double {
        useOneThreadPerRank()
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        var best = Double.infinity
        for round in 0 ..< 6 {
            let start = ContinuousClock.now
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b,
                        Int32(n), 0, &c, Int32(n))
            if round > 0 { best = min(best, (ContinuousClock.now - start).seconds) }
        }
        return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
    }
}

import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// Zero-filled Float memory, 64-byte aligned, owned by one object and freed with it. Buffers are
/// allocated once (per batch shape) and reused for every step.
public final class FloatBuffer: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int) {
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let raw: UnsafeMutableRawPointer
        if bytes >= Self.hugePage {
            // Large buffers (activations, im2col scratch) on 2 MiB pages where the kernel offers
            // them (transparent huge pages in `madvise` mode, Debian's default): a training step
            // streams hundreds of MB through them, and 4 KiB pages cost TLB misses.
            raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: Self.hugePage)
            #if canImport(Glibc)
            _ = madvise(raw, bytes, MADV_HUGEPAGE)
            #endif
        } else {
            raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        }
        raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 1))
        pointer = raw.assumingMemoryBound(to: Float.self)
    }

    private static let hugePage = 2 << 20

    deinit { pointer.deallocate() }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    public func zero() { pointer.update(repeating: 0, count: count) }

    public subscript(index: Int) -> Float {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }
}

/// Scratch Double memory (statistics sums), zeroed on allocation.
final class DoubleBuffer {
    let pointer: UnsafeMutablePointer<Double>
    let count: Int
    init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }
    deinit { pointer.deallocate() }
    func zero() { pointer.update(repeating: 0, count: count) }
}

/// Which implementation of the micro-kernels runs: AVX2+FMA where the CPU has them, or portable C.
public enum InstructionSet: Int32, Sendable, CaseIterable {
    case portable = 0
    case avx2 = 1

    /// The fastest set this CPU runs.
    public static var best: InstructionSet { InstructionSet(rawValue: ck_best_isa()) ?? .portable }
}

/// The peak resident memory of this process so far, in bytes (`getrusage`).
public func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss * 1024
}

/// CPU seconds of the calling thread (profiles on a shared machine: work, not waiting for a core).
@inline(__always)
public func threadSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

import CKernels
import Formatting
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

/// Scratch memory shared by the layers of one network (they run one at a time): grows to the
/// largest request, allocated once.
final class ScratchArena {
    private(set) var buffer: FloatBuffer?

    func reserve(_ count: Int) {
        if (buffer?.count ?? 0) < count { buffer = FloatBuffer(count: count) }
    }

    var pointer: UnsafeMutablePointer<Float> { buffer!.pointer }
}

/// Which implementation of the micro-kernels runs: AVX2+FMA where the CPU has them, or portable C.
public enum InstructionSet: Int32, Sendable, CaseIterable {
    case portable = 0
    case avx2 = 1

    /// The fastest set this CPU runs.
    public static var best: InstructionSet { InstructionSet(rawValue: ck_best_isa()) ?? .portable }
}

/// The peak resident memory of this process so far, in bytes: VmHWM of /proc/self/status, the
/// high-water mark of this program's own address space. (`getrusage`'s ru_maxrss is not: Linux
/// carries the high-water mark of the address space a process had before `exec` into it, and a
/// process started by posix_spawn shares its parent's until then, so a large parent — a test
/// process — made a small benchmark's peak look hundreds of megabytes larger.) Falls back to
/// ru_maxrss where /proc is missing.
public func peakResidentBytes() -> Int {
    if let file = fopen("/proc/self/status", "r") {
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("VmHWM:") else { continue }
            // "VmHWM:\t  123456 kB"
            let fields = text.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
            if let kilobytes = fields.first.flatMap({ Int($0) }) { return kilobytes * 1024 }
        }
    }
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

/// The memory this process may still take, in bytes: the kernel's estimate of what can be
/// allocated without swapping (`MemAvailable` in /proc/meminfo), or less under a cgroup limit
/// (v2 `memory.max` − `memory.current`, v1 `memory.limit_in_bytes` − `memory.usage_in_bytes`).
/// Nil where none of these can be read.
public func availableMemoryBytes() -> Int? {
    func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var text = ""
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), file) != nil {
            text += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return text
    }
    func number(_ path: String) -> Int? {
        read(path).flatMap { Int($0.filter { !$0.isWhitespace }) }
    }
    var available: Int? = nil
    if let meminfo = read("/proc/meminfo"),
       let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
       let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
        available = kilobytes * 1024
    }
    for (limit, usage) in [("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                           ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")] {
        if let limit = number(limit), let usage = number(usage), limit < 1 << 60 {
            available = min(available ?? .max, max(limit - usage, 0))
        }
    }
    return available
}

/// Estimated bytes of memory, by what takes them (in Double: estimates of absurd requests must not
/// overflow before they are refused).
public struct MemoryEstimate: Sendable, CustomStringConvertible {
    public var parts: [(name: String, bytes: Double)] = []

    public init(_ parts: [(name: String, bytes: Double)] = []) { self.parts = parts }

    public var total: Double { parts.map(\.bytes).reduce(0, +) }

    public mutating func add(_ name: String, _ bytes: Double) { parts.append((name, bytes)) }

    public static func + (a: MemoryEstimate, b: MemoryEstimate) -> MemoryEstimate { MemoryEstimate(a.parts + b.parts) }

    /// "1.2 GB (activations 1.1 GB, step images 96 MB, …)", largest part first.
    public var description: String {
        ByteSize.describe(total) + " (" + parts.sorted { $0.bytes > $1.bytes }.map { "\($0.name) \(ByteSize.describe($0.bytes))" }
            .joined(separator: ", ") + ")"
    }
}

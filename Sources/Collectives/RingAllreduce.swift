import Partitions

/// A bandwidth-optimal ring all-reduce (sum, in place, Float), written over `PointToPoint`.
///
/// The buffer is cut into `size` segments whose lengths differ by at most one
/// (`EvenPartition`). In the reduce-scatter phase (size − 1 steps) rank r sends segment
/// (r − s) mod N to rank r + 1 and adds segment (r − s − 1) mod N, received from rank r − 1,
/// into its own copy; afterwards rank r holds the complete sum of segment (r + 1) mod N. In the
/// all-gather phase (size − 1 steps) those sums travel once around the ring and overwrite the
/// other ranks' copies. Each rank sends and receives 2·(N−1)/N of the buffer in all.
///
/// Every segment is summed at exactly one rank, in a fixed order, and then copied: the result is
/// bitwise identical on all ranks, and does not depend on the `settings`. Each step moves its
/// segment in chunks of `settings.chunkBytes` with `settings.depth` chunks in flight (a chunk is
/// added while the later ones travel), through `depth` scratch slots: the extra memory is `depth`
/// chunks whatever the buffer size, and an added chunk is still in cache when it is used. Counts
/// smaller than the number of ranks give empty segments, which both neighbours skip by the same
/// arithmetic.
///
/// Each scratch slot is placed at the same address modulo 4096 as the chunk it receives (the
/// peers' buffers are laid out alike): with Open MPI's single-copy transport (CMA) the kernel's
/// copy runs 2× slower when source and destination differ by 40–56 bytes modulo 64, which is
/// exactly where a Swift array's elements start relative to an aligned scratch buffer.
public final class RingAllreduce {
    /// How segments are cut into messages; may change between calls (the scratch memory grows
    /// to the largest need and is kept).
    public var settings: RingSettings
    private var scratch: UnsafeMutableRawPointer? = nil
    private var scratchBytes = 0
    private var slotStride = 0
    private static let page = 4096

    /// The message tag used by the ring's point-to-point traffic.
    public static let tag: Int32 = 0x5241

    public init(settings: RingSettings = .sharedMemory) {
        self.settings = settings
    }

    deinit { scratch?.deallocate() }

    /// Lays out `slots` scratch slots of `elements` floats each (every slot with a page to spare,
    /// for `slot(_:mirroring:)`) for this call, growing the memory if it is too small.
    private func reserveScratch(slots: Int, elements: Int) {
        slotStride = elements * MemoryLayout<Float>.stride + Self.page
        let needed = slots * slotStride
        guard needed > scratchBytes else { return }
        scratch?.deallocate()
        scratch = UnsafeMutableRawPointer.allocate(byteCount: needed, alignment: Self.page)
        scratchBytes = needed
    }

    /// Scratch slot `k` for a chunk that will be added into `destination`, at the same offset
    /// within a page as `destination`.
    private func slot(_ k: Int, mirroring destination: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        let offset = Int(bitPattern: UInt(bitPattern: destination) % UInt(Self.page))
        return (scratch! + k * slotStride + offset).assumingMemoryBound(to: Float.self)
    }

    /// Sums `buffer` over all ranks of `transport`, in place.
    public func callAsFunction<T: PointToPoint>(_ buffer: UnsafeMutableBufferPointer<Float>, over transport: T) throws {
        // (`sumInRingOrder` below restates the order of the additions; change both together.)
        let ranks = transport.size
        guard ranks > 1, buffer.count > 0, let base = buffer.baseAddress else { return }
        let partition = EvenPartition(count: buffer.count, parts: ranks)
        let rank = transport.rank
        let next = (rank + 1) % ranks
        let previous = (rank + ranks - 1) % ranks
        let chunk = settings.chunkElements
        let longest = partition.range(wrapping: 0).count + (buffer.count % ranks == 0 ? 0 : 1)
        reserveScratch(slots: min(settings.depth, longest.divided(roundingUpBy: chunk)), elements: min(chunk, longest))

        for step in 0 ..< ranks - 1 {                       // reduce-scatter
            try exchange(base: base,
                         send: partition.range(wrapping: rank - step), to: next,
                         receive: partition.range(wrapping: rank - step - 1), from: previous,
                         reduce: true, over: transport)
        }
        for step in 0 ..< ranks - 1 {                       // all-gather
            try exchange(base: base,
                         send: partition.range(wrapping: rank + 1 - step), to: next,
                         receive: partition.range(wrapping: rank - step), from: previous,
                         reduce: false, over: transport)
        }
    }

    /// One ring step: send `send` to `destination` while receiving `receive` from `source`,
    /// either adding the received values into the buffer or overwriting it with them. Chunk k
    /// travels while chunks k − depth + 1 … k − 1 are still in flight; chunk k − depth is waited
    /// for (and added) before chunk k starts, freeing its slot.
    private func exchange<T: PointToPoint>(base: UnsafeMutablePointer<Float>,
                                           send: Range<Int>, to destination: Int,
                                           receive: Range<Int>, from source: Int,
                                           reduce: Bool, over transport: T) throws {
        let chunk = settings.chunkElements
        let depth = settings.depth
        let chunks = max(send.count, receive.count).divided(roundingUpBy: chunk)
        guard chunks > 0 else { return }
        var inFlight = [[T.Request]](repeating: [], count: min(depth, chunks))

        func start(_ k: Int) throws {
            let r = receive.chunk(k, of: chunk)
            if !r.isEmpty {
                let target = reduce ? slot(k % depth, mirroring: base + r.lowerBound) : base + r.lowerBound
                inFlight[k % depth].append(try transport.startReceive(
                    into: UnsafeMutableRawBufferPointer(start: target, count: r.count * 4), from: source, tag: Self.tag))
            }
            let s = send.chunk(k, of: chunk)
            if !s.isEmpty {
                inFlight[k % depth].append(try transport.startSend(
                    UnsafeRawBufferPointer(start: base + s.lowerBound, count: s.count * 4), to: destination, tag: Self.tag))
            }
        }
        func finish(_ k: Int) throws {
            if !inFlight[k % depth].isEmpty { try transport.wait(&inFlight[k % depth]) }
            inFlight[k % depth].removeAll(keepingCapacity: true)
            let r = receive.chunk(k, of: chunk)
            if reduce && !r.isEmpty {
                addInPlace(base + r.lowerBound, slot(k % depth, mirroring: base + r.lowerBound), count: r.count)
            }
        }

        var oldest = 0
        for k in 0 ..< chunks {
            if k - oldest == depth {
                try finish(oldest)
                oldest += 1
            }
            try start(k)
        }
        while oldest < chunks {
            try finish(oldest)
            oldest += 1
        }
    }
}

/// How the ring cuts a segment into messages: at most `chunkBytes` each, `depth` of them in
/// flight between two neighbours at once. The result does not depend on them; the speed does,
/// and differently on each transport (docs/SCALING.md).
public struct RingSettings: Sendable, Hashable, CustomStringConvertible {
    public var chunkBytes: Int
    public var depth: Int

    public init(chunkBytes: Int, depth: Int = 2) {
        precondition(chunkBytes >= MemoryLayout<Float>.stride, "chunkBytes must hold at least one Float")
        precondition(depth >= 1, "depth must be at least 1")
        self.chunkBytes = chunkBytes
        self.depth = depth
    }

    /// Floats per message.
    public var chunkElements: Int { chunkBytes / MemoryLayout<Float>.stride }

    /// Measured best between ranks of one host (docs/PERFORMANCE.md): smaller chunks pay
    /// per-message overhead, larger ones leave the cache.
    public static let sharedMemory = RingSettings(chunkBytes: 256 << 10, depth: 2)

    /// Measured best over TCP between hosts (docs/SCALING.md).
    public static let network = RingSettings(chunkBytes: 4 << 20, depth: 4)

    /// The settings measured best for `transport`.
    public static func suited(to transport: Transport) -> RingSettings {
        switch transport {
        case .sharedMemory: .sharedMemory
        case .network: .network
        }
    }

    public var description: String { "chunks of \(chunkBytes) bytes, \(depth) in flight" }
}

extension RingAllreduce {
    /// The sum the ring leaves on every rank when rank r contributes `contributions[r]`, computed
    /// in one process: bit for bit what `callAsFunction` gives over a transport of
    /// `contributions.count` ranks, whatever the chunk size (for ranks simulated one after the
    /// other). Segment k is added up along the ring as the reduce-scatter does: rank k's values,
    /// plus rank k + 1's, plus rank k + 2's, … (Float addition is commutative but not associative,
    /// so the order is what matters). `result` must not overlap any contribution.
    public static func sumInRingOrder(_ contributions: [UnsafeBufferPointer<Float>],
                                      into result: UnsafeMutableBufferPointer<Float>) {
        let ranks = contributions.count
        precondition(ranks >= 1 && contributions.allSatisfy { $0.count == result.count },
                     "sumInRingOrder: one buffer of the result's size per rank")
        guard let destination = result.baseAddress else { return }
        let partition = EvenPartition(count: result.count, parts: ranks)
        for k in 0 ..< ranks {
            let segment = partition.range(wrapping: k)
            guard !segment.isEmpty else { continue }
            let target = destination + segment.lowerBound
            let first = contributions[k].baseAddress! + segment.lowerBound
            target.update(from: first, count: segment.count)
            for step in 1 ..< ranks {
                addInPlace(target, contributions[(k + step) % ranks].baseAddress! + segment.lowerBound,
                           count: segment.count)
            }
        }
    }
}

/// `destination[i] += source[i]` for `i` in `0 ..< count`.
@inline(__always)
func addInPlace(_ destination: UnsafeMutablePointer<Float>, _ source: UnsafePointer<Float>, count: Int) {
    for i in 0 ..< count { destination[i] += source[i] }
}

extension Range where Bound == Int {
    /// The `k`-th piece of at most `size` elements of this range (empty past the end).
    func chunk(_ k: Int, of size: Int) -> Range<Int> {
        let lower = Swift.min(lowerBound + k * size, upperBound)
        return lower ..< Swift.min(lower + size, upperBound)
    }
}

extension Int {
    func divided(roundingUpBy divisor: Int) -> Int { (self + divisor - 1) / divisor }
}

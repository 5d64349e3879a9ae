import Collectives
import Partitions
import Testing
import TestSupport

@Suite("Ring all-reduce over an in-process transport")
struct RingAllreduceTests {
    /// Values whose sums depend on the order of addition, so the tolerance check means something.
    static func value(rank: Int, index: Int) -> Float {
        Float((Double(index) * 0.618_033_988 + Double(rank) * 0.414_213_562).truncatingRemainder(dividingBy: 1)) * 3 - 1.5
    }

    /// Runs the ring on `ranks` threads and returns each rank's result and bytes sent.
    static func ringResults(ranks: Int, count: Int, chunkBytes: Int, depth: Int = 2) throws -> [(values: [Float], bytesSent: Int)] {
        let network = InProcessNetwork(size: ranks)
        return try network.run { endpoint in
            let counting = CountingTransport(endpoint)
            var buffer = (0 ..< count).map { value(rank: endpoint.rank, index: $0) }
            let ring = RingAllreduce(settings: RingSettings(chunkBytes: chunkBytes, depth: depth))
            try buffer.withUnsafeMutableBufferPointer { try ring($0, over: counting) }
            return (buffer, counting.bytesSent)
        }
    }

    @Test("sums match a Double reference and are bitwise equal on all ranks",
          arguments: [1, 2, 3, 4, 5, 7])
    func correctForEveryCount(ranks: Int) throws {
        for count in [0, 1, 2, 3, 5, 6, 7, 13, 64, 1000, 4099] {
            for chunkBytes in [4, 12, 256, 256 << 10] {
                let results = try Self.ringResults(ranks: ranks, count: count, chunkBytes: chunkBytes)
                for i in 0 ..< count {
                    let terms = (0 ..< ranks).map { Double(Self.value(rank: $0, index: i)) }
                    let reference = terms.reduce(0, +)
                    let bound = Double(ranks) * Double(Float.ulpOfOne) * terms.map(abs).reduce(0, +) + 1e-30
                    #expect(abs(Double(results[0].values[i]) - reference) <= bound,
                            "ranks \(ranks), count \(count), chunk \(chunkBytes): element \(i)")
                }
                for rank in 1 ..< ranks {
                    #expect(bitDifference(results[rank].values, results[0].values) == nil,
                            "ranks \(ranks), count \(count), chunk \(chunkBytes): rank \(rank) differs from rank 0")
                }
            }
        }
    }

    @Test("the result does not depend on the chunks or how many are in flight", arguments: [2, 3, 5])
    func settingsDoNotChangeTheResult(ranks: Int) throws {
        for count in [1, 7, 1000, 4099] {
            let reference = try Self.ringResults(ranks: ranks, count: count, chunkBytes: 256 << 10)[0].values
            for (chunkBytes, depth) in [(4, 1), (12, 3), (256, 1), (256, 4), (1024, 7), (4, 16)] {
                let results = try Self.ringResults(ranks: ranks, count: count, chunkBytes: chunkBytes, depth: depth)
                for (rank, result) in results.enumerated() {
                    #expect(bitDifference(result.values, reference) == nil,
                            "ranks \(ranks), count \(count), chunk \(chunkBytes), depth \(depth): rank \(rank)")
                }
            }
        }
    }

    @Test("one object serves calls with changing settings and sizes")
    func changingSettings() throws {
        let network = InProcessNetwork(size: 3)
        let results = try network.run { endpoint in
            let ring = RingAllreduce()
            var sums: [[Float]] = []
            for (count, settings) in [(5000, RingSettings(chunkBytes: 64, depth: 3)), (100_000, RingSettings(chunkBytes: 4096, depth: 5)),
                                      (300, .network), (70_000, .sharedMemory)] {
                ring.settings = settings
                var buffer = (0 ..< count).map { Self.value(rank: endpoint.rank, index: $0) }
                try buffer.withUnsafeMutableBufferPointer { try ring($0, over: endpoint) }
                sums.append(buffer)
            }
            return sums
        }
        for (call, count) in [5000, 100_000, 300, 70_000].enumerated() {
            let expected = try Self.ringResults(ranks: 3, count: count, chunkBytes: 256 << 10)[0].values
            for rank in 0 ..< 3 { #expect(bitDifference(results[rank][call], expected) == nil, "call \(call), rank \(rank)") }
        }
    }

    @Test("each rank sends 2(N−1)/N of the buffer: bandwidth-optimal", arguments: [2, 3, 4, 6])
    func sendsTheOptimalVolume(ranks: Int) throws {
        let count = 6000
        let results = try Self.ringResults(ranks: ranks, count: count, chunkBytes: 1 << 10)
        for (rank, result) in results.enumerated() {
            let partition = EvenPartition(count: count, parts: ranks)
            // reduce-scatter sends segments r, r−1, …, r−N+2; all-gather sends r+1, r, …, r−N+3.
            let segments = (0 ..< ranks - 1).map { rank - $0 } + (0 ..< ranks - 1).map { rank + 1 - $0 }
            let expected = segments.map { partition.range(wrapping: $0).count * 4 }.reduce(0, +)
            #expect(result.bytesSent == expected)
            #expect(abs(Double(result.bytesSent) - 2 * Double(ranks - 1) / Double(ranks) * Double(count * 4)) <= Double(8 * ranks))
        }
    }
}

/// Wraps a transport and counts the bytes it is asked to send.
final class CountingTransport<Base: PointToPoint>: PointToPoint {
    let base: Base
    private(set) var bytesSent = 0
    init(_ base: Base) { self.base = base }
    var rank: Int { base.rank }
    var size: Int { base.size }
    func startSend(_ bytes: UnsafeRawBufferPointer, to destination: Int, tag: Int32) throws -> Base.Request {
        bytesSent += bytes.count
        return try base.startSend(bytes, to: destination, tag: tag)
    }
    func startReceive(into buffer: UnsafeMutableRawBufferPointer, from source: Int, tag: Int32) throws -> Base.Request {
        try base.startReceive(into: buffer, from: source, tag: tag)
    }
    func wait(_ requests: inout [Base.Request]) throws { try base.wait(&requests) }
}

import Collectives

/// `bench allreduce`: times the Float all-reduce of each size with each algorithm, and optionally
/// verifies the results.
///
/// Every timed call starts after a barrier; a call's time is the slowest rank's, and the figure
/// reported is the median over the repetitions. Algorithms are interleaved call by call, so a
/// ratio between them is measured under the same conditions.
public struct AllreduceBenchmark {
    public struct Result: Sendable {
        public let algorithm: AllreduceAlgorithm
        public let ranks: Int
        public let bytes: Int
        public let iterations: Int
        /// Median over iterations of the slowest rank's seconds per call.
        public let seconds: Double
        public var algorithmBandwidth: Double { seconds > 0 ? Double(bytes) / seconds / 1e9 : 0 }
        /// algbw · 2(N−1)/N: the bandwidth each rank's link sees in a bandwidth-optimal algorithm.
        public var busBandwidth: Double { algorithmBandwidth * 2 * Double(ranks - 1) / Double(ranks) }
    }

    /// A result that is not the exact sum, or not the same on every rank.
    public struct Mismatch: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public let communicator: any Communicator
    public let algorithms: [AllreduceAlgorithm]

    public init(communicator: any Communicator, algorithms: [AllreduceAlgorithm]) {
        self.communicator = communicator
        self.algorithms = algorithms
    }

    /// The default number of timed calls for a buffer of `bytes`: about 256 MiB moved per algorithm.
    public static func defaultIterations(bytes: Int) -> Int {
        min(200, max(10, (256 << 20) / max(bytes, 1)))
    }

    /// Times each algorithm on a buffer of `count` floats, `iterations` calls after two warm-up calls.
    public func measure(count: Int, iterations: Int) throws -> [Result] {
        var buffer = [Float](repeating: 0, count: count)
        // per algorithm, per iteration: this rank's nanoseconds; reduced to the slowest rank's.
        var nanoseconds = [Int64](repeating: 0, count: algorithms.count * iterations)
        try buffer.withUnsafeMutableBufferPointer { data in
            for algorithm in algorithms {
                for _ in 0 ..< 2 { try communicator.allreduceSum(data, algorithm: algorithm) }
            }
            let clock = ContinuousClock()
            for iteration in 0 ..< iterations {
                for (a, algorithm) in algorithms.enumerated() {
                    try communicator.barrier()
                    let elapsed = try clock.measure { try communicator.allreduceSum(data, algorithm: algorithm) }
                    nanoseconds[a * iterations + iteration] = Int64(elapsed / .nanoseconds(1))
                }
            }
        }
        try nanoseconds.withUnsafeMutableBufferPointer { try communicator.allreduceMax($0) }
        return algorithms.enumerated().map { a, algorithm in
            let times = nanoseconds[a * iterations ..< (a + 1) * iterations].map { Double($0) * 1e-9 }
            return Result(algorithm: algorithm, ranks: communicator.size, bytes: count * 4,
                          iterations: iterations, seconds: median(times))
        }
    }

    /// Runs each algorithm once on rank-dependent data and checks the result element by element
    /// against a sum computed in Double, and bitwise across ranks. Every rank learns of any
    /// mismatch on any rank; the error names the count and the algorithm.
    ///
    /// `corruptingRank` (for testing the check itself) alters one result element on that rank.
    public func verify(count: Int, corruptingRank: Int? = nil) throws {
        let ranks = communicator.size
        for algorithm in algorithms {
            var buffer = (0 ..< count).map { Self.testValue(rank: communicator.rank, index: $0) }
            try communicator.allreduceSum(&buffer, algorithm: algorithm)
            if corruptingRank == communicator.rank && count > 0 { buffer[count / 2] += 0.5 }

            let context = "allreduce verification failed: algo \(algorithm.rawValue), \(count) floats (\(count * 4) bytes), "
                + "\(ranks) ranks"
            try communicator.collectively {
                for i in 0 ..< count {
                    let reference = (0 ..< ranks).reduce(0.0) { $0 + Double(Self.testValue(rank: $1, index: i)) }
                    if Double(buffer[i]) != reference {
                        throw Mismatch(description: "\(context): element \(i) is \(buffer[i]), expected \(reference)")
                    }
                }
            }
            // Every rank sees the same checksums, so every rank reaches the same verdict.
            if let mismatch = try buffer.withUnsafeBytes({ try communicator.firstMismatch(among: $0) }) {
                throw AgreedFailure(rank: mismatch.rank, message: "\(context): the result differs bitwise from rank 0's",
                                    isRankSpecific: true)
            }
        }
    }

    /// Values that are multiples of 1/64 in [−8, 8): their sums over up to 2^14 ranks are exact in
    /// Float whatever the order of addition, so any difference from the Double reference is an error.
    public static func testValue(rank: Int, index: Int) -> Float {
        let mixed = (UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(rank) &* 0xBF58_476D_1CE4_E5B9)
        return Float(Int(mixed >> 54)) / 64 - 8
    }
}

/// The median of a non-empty list (mean of the middle two for an even count).
public func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty)
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

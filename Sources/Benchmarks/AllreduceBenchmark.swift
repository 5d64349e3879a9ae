import Collectives

/// `bench allreduce`: times the Float all-reduce of each size with each candidate (the ring, with
/// one or several settings; `MPI_Allreduce`; and `auto`, the policy training uses), and optionally
/// verifies the results.
///
/// Every timed call starts after a barrier; a call's time is the slowest rank's, and the figure
/// reported is the median over the repetitions. Candidates are interleaved call by call, so a
/// ratio between them is measured under the same conditions. `auto` first measures as training
/// does at start-up (`AllreducePolicy.measure`), then its choice is timed with the others.
public struct AllreduceBenchmark {
    public enum Candidate: Hashable, Sendable {
        /// The ring with these settings.
        case ring(RingSettings)
        case mpi
        /// The faster of the ring (with the transport's settings) and MPI, measured for each size.
        case auto

        public var name: String {
            switch self {
            case .ring: "ring"
            case .mpi: "mpi"
            case .auto: "auto"
            }
        }
    }

    public struct Result: Sendable {
        public let candidate: Candidate
        /// What `auto` chose for this size.
        public let chosen: AllreduceAlgorithm?
        public let ranks: Int
        public let bytes: Int
        public let iterations: Int
        /// Median over iterations of the slowest rank's seconds per call.
        public let seconds: Double
        public var algorithmBandwidth: Double { seconds > 0 ? Double(bytes) / seconds / 1e9 : 0 }
        /// algbw · 2(N−1)/N: the bandwidth each rank's link sees in a bandwidth-optimal algorithm.
        public var busBandwidth: Double { algorithmBandwidth * 2 * Double(ranks - 1) / Double(ranks) }
    }

    public struct Mismatch: CollectiveFailure, Sendable {
        public let description: String
    }

    public let communicator: any Communicator
    public let candidates: [Candidate]
    /// The ring settings of the transport in use (what `auto` and training use).
    public let transportRing: RingSettings
    /// Gives the communicator's ring these settings.
    let configureRing: (RingSettings) -> Void

    public init(communicator: any Communicator, candidates: [Candidate], transportRing: RingSettings,
                configureRing: @escaping (RingSettings) -> Void) {
        self.communicator = communicator
        self.candidates = candidates
        self.transportRing = transportRing
        self.configureRing = configureRing
    }

    /// The default number of timed calls for a buffer of `bytes`: about 256 MiB moved per algorithm.
    public static func defaultIterations(bytes: Int) -> Int {
        min(200, max(10, (256 << 20) / max(bytes, 1)))
    }

    /// What `auto` picks for a buffer of `count` floats: the same measurement as at training's start.
    func autoChoice(count: Int) throws -> AllreduceAlgorithm {
        configureRing(transportRing)
        return try AllreducePolicy.measure(on: communicator, counts: [count]).algorithm(forCount: count)
    }

    /// One call of `candidate` on `data` (`auto` runs `choice`).
    private func operation(_ candidate: Candidate, choice: AllreduceAlgorithm?,
                           _ data: UnsafeMutableBufferPointer<Float>) -> () throws -> Void {
        let communicator = communicator, configureRing = configureRing, transportRing = transportRing
        switch candidate {
        case let .ring(settings):
            return { configureRing(settings); try communicator.allreduceSum(data, algorithm: .ring) }
        case .mpi:
            return { try communicator.allreduceSum(data, algorithm: .mpi) }
        case .auto:
            let algorithm = choice ?? .ring
            return { configureRing(transportRing); try communicator.allreduceSum(data, algorithm: algorithm) }
        }
    }

    /// Times each candidate on a buffer of `count` floats, `iterations` calls after two warm-up calls.
    public func measure(count: Int, iterations: Int) throws -> [Result] {
        let choice = candidates.contains(.auto) ? try autoChoice(count: count) : nil
        var buffer = [Float](repeating: 0, count: count)
        let seconds = try buffer.withUnsafeMutableBufferPointer { buffer in
            let data = buffer
            let operations = candidates.map { operation($0, choice: choice, data) }
            for operation in operations {
                for _ in 0 ..< 2 { try operation() }
            }
            return try timeInterleaved(operations, calls: iterations, on: communicator)
        }
        configureRing(transportRing)
        return candidates.enumerated().map { c, candidate in
            Result(candidate: candidate, chosen: candidate == .auto ? choice : nil, ranks: communicator.size,
                   bytes: count * 4, iterations: iterations, seconds: median(seconds[c]))
        }
    }

    /// Runs each candidate once on rank-dependent data and checks the result element by element
    /// against a sum computed in Double, and bitwise across ranks. Every rank learns of any
    /// mismatch on any rank; the error names the count and the candidate.
    ///
    /// `corruptingRank` (for testing the check itself) alters one result element on that rank.
    public func verify(count: Int, corruptingRank: Int? = nil) throws {
        let ranks = communicator.size
        let choice = candidates.contains(.auto) ? try autoChoice(count: count) : nil
        for candidate in candidates {
            var buffer = (0 ..< count).map { Self.testValue(rank: communicator.rank, index: $0) }
            try buffer.withUnsafeMutableBufferPointer { try operation(candidate, choice: choice, $0)() }
            if corruptingRank == communicator.rank && count > 0 { buffer[count / 2] += 0.5 }

            var what = candidate.name
            if case let .ring(settings) = candidate, settings != transportRing { what += " (\(settings))" }
            let context = "allreduce verification failed: algo \(what), \(count) floats (\(count * 4) bytes), \(ranks) ranks"
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
        configureRing(transportRing)
    }

    /// Values that are multiples of 1/64 in [−8, 8): their sums over up to 2^14 ranks are exact in
    /// Float whatever the order of addition, so any difference from the Double reference is an error.
    public static func testValue(rank: Int, index: Int) -> Float {
        let mixed = (UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(rank) &* 0xBF58_476D_1CE4_E5B9)
        return Float(Int(mixed >> 54)) / 64 - 8
    }
}

/// What `--allreduce` asks for: one algorithm for every buffer, or (`auto`) for each buffer size
/// the faster of the ring and the transport's own all-reduce, as measured when the job starts.
public enum AllreduceChoice: Sendable, Equatable, CustomStringConvertible {
    case always(AllreduceAlgorithm)
    case auto

    /// "auto", "ring" or "mpi"; nil for anything else.
    public init?(_ text: String) {
        if text == "auto" {
            self = .auto
        } else if let algorithm = AllreduceAlgorithm(rawValue: text) {
            self = .always(algorithm)
        } else {
            return nil
        }
    }

    /// The accepted spellings, for messages.
    public static let names = ["auto"] + AllreduceAlgorithm.allCases.map(\.rawValue)

    public var description: String {
        switch self {
        case .auto: "auto"
        case let .always(algorithm): algorithm.rawValue
        }
    }
}

/// The all-reduce to use for each buffer size: one algorithm for all, or the faster one measured
/// at a few sizes (a buffer uses the decision of the measured size nearest to its own, on a
/// logarithmic scale).
///
/// `measure` times both algorithms, interleaved call by call, on every rank; a call's time is
/// the slowest rank's, so every rank holds the same figures and takes the same decision — which
/// the job needs, since ranks that chose differently would wait in different collectives.
public struct AllreducePolicy: Sendable, Equatable {
    /// One measured size: the median seconds per call of each algorithm and the faster one.
    public struct Measurement: Sendable, Equatable, Codable {
        public let count: Int
        public let ringSeconds: Double
        public let mpiSeconds: Double
        public let calls: Int

        public init(count: Int, ringSeconds: Double, mpiSeconds: Double, calls: Int) {
            self.count = count
            self.ringSeconds = ringSeconds
            self.mpiSeconds = mpiSeconds
            self.calls = calls
        }

        enum CodingKeys: String, CodingKey {
            case count, calls
            case ringSeconds = "ring_seconds"
            case mpiSeconds = "mpi_seconds"
        }

        /// The faster; the ring on a tie (its result does not depend on the transport's choices).
        public var chosen: AllreduceAlgorithm { mpiSeconds < ringSeconds ? .mpi : .ring }
    }

    /// Set when one algorithm is used for every size.
    public let fixed: AllreduceAlgorithm?
    /// By increasing count.
    public let measurements: [Measurement]

    public static func always(_ algorithm: AllreduceAlgorithm) -> AllreducePolicy {
        AllreducePolicy(fixed: algorithm, measurements: [])
    }

    public init(measurements: [Measurement]) {
        self.init(fixed: nil, measurements: measurements.sorted { $0.count < $1.count })
    }

    private init(fixed: AllreduceAlgorithm?, measurements: [Measurement]) {
        self.fixed = fixed
        self.measurements = measurements
    }

    /// The algorithm for a buffer of `count` floats.
    public func algorithm(forCount count: Int) -> AllreduceAlgorithm {
        if let fixed { return fixed }
        let target = Double(max(count, 1))
        let nearest = measurements.min { a, b in
            Self.ratio(Double(max(a.count, 1)), target) < Self.ratio(Double(max(b.count, 1)), target)
        }
        return nearest?.chosen ?? .ring
    }

    /// max(a, b) / min(a, b): how far apart two positive sizes are on a logarithmic scale.
    private static func ratio(_ a: Double, _ b: Double) -> Double { a > b ? a / b : b / a }

    /// The policy `choice` asks for. `auto` measures at `counts` (collective: every rank calls it
    /// with the same counts); on one rank there is nothing to measure and the ring is used.
    public static func resolve(_ choice: AllreduceChoice, counts: [Int], on communicator: any Communicator,
                               budgetSeconds: Double = defaultBudgetSeconds) throws -> AllreducePolicy {
        switch choice {
        case let .always(algorithm): return .always(algorithm)
        case .auto:
            guard communicator.size > 1 else { return .always(.ring) }
            return try measure(on: communicator, counts: counts, budgetSeconds: budgetSeconds)
        }
    }

    /// Seconds of measurement per size aimed at, beyond a warm-up call of each algorithm; at
    /// least `minimumCalls` calls of each are timed whatever they take.
    public static let defaultBudgetSeconds = 0.5
    public static let minimumCalls = 3
    public static let maximumCalls = 15

    /// Times the ring and `MPI_Allreduce` on a buffer of each of `counts` floats and keeps the
    /// faster of each size. The number of timed calls follows from the first round's time (the
    /// slowest rank's, so it is the same on every rank): `budgetSeconds` per size, within
    /// `minimumCalls` … `maximumCalls`.
    public static func measure(on communicator: any Communicator, counts: [Int],
                               budgetSeconds: Double = defaultBudgetSeconds) throws -> AllreducePolicy {
        let algorithms: [AllreduceAlgorithm] = [.ring, .mpi]
        var measurements: [Measurement] = []
        for count in Set(counts).sorted() where count > 0 {
            var buffer = [Float](repeating: 0, count: count)
            let seconds = try buffer.withUnsafeMutableBufferPointer { buffer -> [[Double]] in
                let data = buffer
                let calls = algorithms.map { algorithm in { try communicator.allreduceSum(data, algorithm: algorithm) } }
                for call in calls { try call() }                        // connections, caches
                var seconds = try timeInterleaved(calls, calls: 1, on: communicator)
                let round = seconds.map { $0[0] }.reduce(0, +)
                let count = min(maximumCalls, max(minimumCalls, Int(budgetSeconds / max(round, 1e-9))))
                let more = try timeInterleaved(calls, calls: count - 1, on: communicator)
                for a in algorithms.indices { seconds[a] += more[a] }
                return seconds
            }
            measurements.append(Measurement(count: count, ringSeconds: median(seconds[0]), mpiSeconds: median(seconds[1]),
                                            calls: seconds[0].count))
        }
        return AllreducePolicy(measurements: measurements)
    }

    /// One line per measured size, e.g. "ring for 1.0 MiB (ring 0.52 ms, mpi 0.61 ms, median of 15 calls)".
    public var summary: String {
        if let fixed { return "\(fixed.rawValue) for every size" }
        guard !measurements.isEmpty else { return "ring (nothing to measure)" }
        return measurements.map { m in
            "\(m.chosen.rawValue) for \(mebibytes(m.count * 4)) (ring \(milliseconds(m.ringSeconds)), "
                + "mpi \(milliseconds(m.mpiSeconds)), median of \(m.calls) calls)"
        }.joined(separator: "; ")
    }

    private func mebibytes(_ bytes: Int) -> String {
        let value = Double(bytes) / Double(1 << 20)
        return "\((value * 1000).rounded() / 1000) MiB"
    }

    private func milliseconds(_ seconds: Double) -> String {
        "\((seconds * 1e5).rounded() / 100) ms"
    }
}

/// Times `calls` runs of each of `operations` (collectives: all-reduces with different
/// algorithms, say), interleaved call by call so that their ratios are measured under the same
/// conditions, each call after a barrier. Returns, per operation and call, the slowest rank's
/// seconds: the same figures on every rank. Collective: every rank passes the same operations
/// and calls.
public func timeInterleaved(_ operations: [() throws -> Void], calls: Int,
                            on communicator: any Communicator) throws -> [[Double]] {
    guard calls > 0 else { return operations.map { _ in [] } }
    var nanoseconds = [Int64](repeating: 0, count: operations.count * calls)
    let clock = ContinuousClock()
    for call in 0 ..< calls {
        for (o, operation) in operations.enumerated() {
            try communicator.barrier()
            let (seconds, attoseconds) = try clock.measure(operation).components
            nanoseconds[o * calls + call] = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        }
    }
    try nanoseconds.withUnsafeMutableBufferPointer { try communicator.allreduceMax($0) }
    return operations.indices.map { o in nanoseconds[o * calls ..< (o + 1) * calls].map { Double($0) * 1e-9 } }
}

/// The median of a non-empty list (mean of the middle two for an even count).
public func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty)
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

import Collectives

/// The α–β model of an all-reduce (Hockney; Thakur, Rabenseifner and Gropp 2005): every message
/// step costs α seconds of latency, every byte a rank sends over its link β seconds (the time to
/// add received values is folded into β: it too is proportional to the bytes).
public struct LinkCost: Sendable, Equatable {
    /// α: seconds per message step.
    public var latency: Double
    /// β: seconds per byte on a link.
    public var secondsPerByte: Double

    public init(latency: Double, secondsPerByte: Double) {
        self.latency = latency
        self.secondsPerByte = secondsPerByte
    }

    /// The link's bandwidth, 1/β, in bytes per second.
    public var bytesPerSecond: Double { secondsPerByte > 0 ? 1 / secondsPerByte : .infinity }
}

/// The algorithms whose cost the model knows, as (message steps, bytes sent per rank) for N ranks
/// and a buffer of n bytes.
public enum AllreduceShape: String, Sendable, CaseIterable {
    /// Ours and Open MPI's ring: 2(N−1) steps, each moving n/N bytes.
    case ring
    /// Recursive doubling: ⌈log₂N⌉ steps each moving all n bytes (Open MPI's choice for small
    /// buffers); a rank count that is not a power of two costs two extra full steps.
    case recursiveDoubling = "recursive-doubling"
    /// Rabenseifner: reduce-scatter by recursive halving, all-gather by recursive doubling:
    /// 2⌊log₂N⌋ steps moving 2(N'−1)/N'·n bytes (N' the largest power of two ≤ N), plus two
    /// full steps when N is not a power of two.
    case rabenseifner

    /// The (steps, bytes) of one all-reduce.
    public func terms(ranks: Int, bytes: Double) -> (steps: Double, bytes: Double) {
        guard ranks > 1 else { return (0, 0) }
        let n = Double(ranks)
        let power = Self.largestPowerOfTwo(atMost: ranks)
        let extra = power == ranks ? 0.0 : 2.0
        let log = Double(power.trailingZeroBitCount)
        switch self {
        case .ring:
            return (2 * (n - 1), 2 * (n - 1) / n * bytes)
        case .recursiveDoubling:
            return (log + extra, (log + extra) * bytes)
        case .rabenseifner:
            let p = Double(power)
            return (2 * log + extra, 2 * (p - 1) / p * bytes + extra * bytes)
        }
    }

    public func seconds(ranks: Int, bytes: Double, cost: LinkCost) -> Double {
        let (steps, moved) = terms(ranks: ranks, bytes: bytes)
        return steps * cost.latency + moved * cost.secondsPerByte
    }

    static func largestPowerOfTwo(atMost value: Int) -> Int {
        value < 1 ? 0 : 1 << (Int.bitWidth - 1 - value.leadingZeroBitCount)
    }
}

/// α–β models of the two all-reduces a run can use, fitted to measurements on one kind of link:
/// the ring with the ring's shape; `MPI_Allreduce` with the shape of recursive doubling (what
/// Open MPI runs on two ranks, where the fit is made) and, for predictions, the cheaper of
/// recursive doubling and Rabenseifner — the algorithms Open MPI's tuned component chooses from
/// (an optimistic envelope: it may choose otherwise).
public struct AllreduceModel: Sendable, Equatable {
    public var ring: LinkCost
    public var mpi: LinkCost

    public init(ring: LinkCost, mpi: LinkCost) {
        self.ring = ring
        self.mpi = mpi
    }

    /// One measured all-reduce: ranks, buffer bytes and median seconds.
    public struct Point: Sendable, Equatable {
        public var ranks: Int
        public var bytes: Int
        public var seconds: Double
        public init(ranks: Int, bytes: Int, seconds: Double) {
            self.ranks = ranks
            self.bytes = bytes
            self.seconds = seconds
        }
    }

    public struct FitError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Fits α and β of `shape` to `points`, minimising the squared relative error (sizes span four
    /// orders of magnitude; an absolute fit would ignore the small ones), with α, β ≥ 0.
    public static func fit(_ points: [Point], shape: AllreduceShape) throws -> LinkCost {
        let usable = points.filter { $0.ranks > 1 && $0.seconds > 0 }
        guard Set(usable.map(\.bytes)).count >= 2 else {
            throw FitError(description: "fitting \(shape.rawValue) needs measurements at two sizes or more, got \(usable.count)")
        }
        // Rows (a, b) = (steps, bytes) / t, target 1: least squares of [a b]·(α, β) ≈ 1.
        var saa = 0.0, sab = 0.0, sbb = 0.0, sa = 0.0, sb = 0.0
        for point in usable {
            let (steps, bytes) = shape.terms(ranks: point.ranks, bytes: Double(point.bytes))
            let a = steps / point.seconds, b = bytes / point.seconds
            saa += a * a; sab += a * b; sbb += b * b; sa += a; sb += b
        }
        let determinant = saa * sbb - sab * sab
        var alpha = determinant != 0 ? (sa * sbb - sb * sab) / determinant : 0
        var beta = determinant != 0 ? (saa * sb - sab * sa) / determinant : 0
        if alpha < 0 || determinant == 0 { alpha = 0; beta = sbb > 0 ? sb / sbb : 0 }
        if beta < 0 { beta = 0; alpha = saa > 0 ? sa / saa : 0 }
        return LinkCost(latency: alpha, secondsPerByte: beta)
    }

    /// The model of both algorithms from measurements at two ranks (one per host).
    public static func fit(ring: [Point], mpi: [Point]) throws -> AllreduceModel {
        AllreduceModel(ring: try fit(ring.filter { $0.ranks == 2 }, shape: .ring),
                       mpi: try fit(mpi.filter { $0.ranks == 2 }, shape: .recursiveDoubling))
    }

    public func ringSeconds(ranks: Int, bytes: Int) -> Double {
        AllreduceShape.ring.seconds(ranks: ranks, bytes: Double(bytes), cost: ring)
    }

    public func mpiSeconds(ranks: Int, bytes: Int) -> Double {
        min(AllreduceShape.recursiveDoubling.seconds(ranks: ranks, bytes: Double(bytes), cost: mpi),
            AllreduceShape.rabenseifner.seconds(ranks: ranks, bytes: Double(bytes), cost: mpi))
    }

    public func seconds(_ algorithm: AllreduceAlgorithm, ranks: Int, bytes: Int) -> Double {
        algorithm == .ring ? ringSeconds(ranks: ranks, bytes: bytes) : mpiSeconds(ranks: ranks, bytes: bytes)
    }

    /// What `--allreduce auto` would pick, by the model: the faster of the two.
    public func autoSeconds(ranks: Int, bytes: Int) -> Double {
        min(ringSeconds(ranks: ranks, bytes: bytes), mpiSeconds(ranks: ranks, bytes: bytes))
    }
}

/// Weak scaling of data-parallel training by the model: every rank computes its own samples in
/// `computeSeconds` per step, then the ranks all-reduce `gradientBytes` (not overlapped with the
/// computation). Efficiency is one rank's step time over N ranks' step time.
public struct ScalingPrediction: Sendable {
    public var model: String
    public var gradientBytes: Int
    public var computeSeconds: Double
    public var imagesPerRank: Int

    public init(model: String, gradientBytes: Int, computeSeconds: Double, imagesPerRank: Int) {
        self.model = model
        self.gradientBytes = gradientBytes
        self.computeSeconds = computeSeconds
        self.imagesPerRank = imagesPerRank
    }

    public struct Row: Sendable {
        public var ranks: Int
        public var ringSeconds: Double
        public var mpiSeconds: Double
        public var allreduceSeconds: Double { min(ringSeconds, mpiSeconds) }
        public var stepSeconds: Double
        public var efficiency: Double
        public var imagesPerSecond: Double
    }

    public func row(ranks: Int, model allreduce: AllreduceModel) -> Row {
        let ring = ranks > 1 ? allreduce.ringSeconds(ranks: ranks, bytes: gradientBytes) : 0
        let mpi = ranks > 1 ? allreduce.mpiSeconds(ranks: ranks, bytes: gradientBytes) : 0
        let step = computeSeconds + min(ring, mpi)
        return Row(ranks: ranks, ringSeconds: ring, mpiSeconds: mpi, stepSeconds: step,
                   efficiency: computeSeconds / step, imagesPerSecond: Double(ranks * imagesPerRank) / step)
    }
}

/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a
/// counter-based generator. `block(counter)` is a pure function of a 64-bit key and a 128-bit
/// counter, so any random number of a run can be computed directly from the numbers that identify
/// it (seed, epoch, sample, copy, …) — independent of thread timing, of the order of work, and
/// after a resume. Passes BigCrush (per the paper).
public struct Philox4x32: Sendable, Equatable {
    public let key: (UInt32, UInt32)

    public init(key: UInt64) {
        self.key = (UInt32(truncatingIfNeeded: key), UInt32(truncatingIfNeeded: key >> 32))
    }

    public static func == (a: Philox4x32, b: Philox4x32) -> Bool { a.key == b.key }

    /// The 128 random bits for `counter`.
    @inlinable
    public func block(_ counter: (UInt32, UInt32, UInt32, UInt32)) -> (UInt32, UInt32, UInt32, UInt32) {
        var (c0, c1, c2, c3) = counter
        var (k0, k1) = key
        for round in 0 ..< 10 {
            if round > 0 {
                k0 &+= 0x9E37_79B9
                k1 &+= 0xBB67_AE85
            }
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
        }
        return (c0, c1, c2, c3)
    }
}

/// A stream of random numbers identified by a seed and three 32-bit words (for example epoch,
/// sample index and copy index). Two streams with different words are independent; the same
/// words always give the same numbers. Conforms to `RandomNumberGenerator`, so
/// `Int.random(in:using:)` and friends work on it.
public struct CounterRNG: RandomNumberGenerator, Sendable {
    public let generator: Philox4x32
    public let stream: (UInt32, UInt32, UInt32)
    @usableFromInline var blockIndex: UInt32 = 0
    @usableFromInline var buffered: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
    @usableFromInline var available = 0

    public init(seed: UInt64, stream: (UInt32, UInt32, UInt32)) {
        generator = Philox4x32(key: seed)
        self.stream = stream
    }

    /// The next 32 random bits.
    @inlinable
    public mutating func next32() -> UInt32 {
        if available == 0 { refill() }
        available -= 1
        switch available {
        case 3: return buffered.0
        case 2: return buffered.1
        case 1: return buffered.2
        default: return buffered.3
        }
    }

    public mutating func next() -> UInt64 {
        UInt64(next32()) << 32 | UInt64(next32())
    }

    /// Uniform in [0, 1), 24 random bits.
    @inlinable
    public mutating func uniform() -> Float {
        Float(next32() >> 8) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [0, bound), for bound ≥ 1 (Lemire's multiply-shift; bias below 2^-32·bound).
    @inlinable
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound >= 1)
        return Int((UInt64(next32()) &* UInt64(bound)) >> 32)
    }

    @usableFromInline
    mutating func refill() {
        buffered = generator.block((blockIndex, stream.0, stream.1, stream.2))
        blockIndex &+= 1
        available = 4
    }
}

import Randomness
import Testing

@Suite("Counter-based random numbers")
struct CounterRNGTests {
    /// Known-answer vectors from the Random123 distribution (kat_vectors, philox4x32 10 rounds).
    @Test("Philox4x32-10 matches the Random123 known answers")
    func knownAnswers() {
        let zero = Philox4x32(key: 0).block((0, 0, 0, 0))
        #expect(zero == (0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8))
        let ones = Philox4x32(key: 0xffff_ffff_ffff_ffff).block((0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff))
        #expect(ones == (0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd))
        let pi = Philox4x32(key: 0x299f_31d0_a409_3822).block((0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344))
        #expect(pi == (0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1))
    }

    @Test("streams are reproducible and independent")
    func streams() {
        var a = CounterRNG(seed: 42, stream: (1, 2, 3))
        var b = CounterRNG(seed: 42, stream: (1, 2, 3))
        var c = CounterRNG(seed: 42, stream: (1, 2, 4))
        var d = CounterRNG(seed: 43, stream: (1, 2, 3))
        let xa = (0 ..< 100).map { _ in a.next32() }
        #expect(xa == (0 ..< 100).map { _ in b.next32() })
        #expect(xa != (0 ..< 100).map { _ in c.next32() })
        #expect(xa != (0 ..< 100).map { _ in d.next32() })
    }

    @Test("uniform and below stay in range and are roughly uniform")
    func ranges() {
        var rng = CounterRNG(seed: 7, stream: (0, 0, 0))
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0 ..< 100_000 {
            let u = rng.uniform()
            #expect(u >= 0 && u < 1)
            counts[rng.below(10)] += 1
        }
        for count in counts { #expect(abs(count - 10_000) < 500, "\(counts)") }
    }
}

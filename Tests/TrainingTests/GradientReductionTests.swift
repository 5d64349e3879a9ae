import Collectives
import DataParallel
import Engine
import Testing

/// How the gradient is summed: the buckets, each bucket's algorithm, and when overlap pays.
@Suite("gradient reduction")
struct GradientReductionTests {
    @Test("each bucket gets the algorithm chosen for its size, in the buckets' order")
    func algorithmsPerBucket() {
        // Three parameters of 1000, 3000 and 6000 floats; buckets of at least 16 KB (4096 floats)
        // cut from the end: [4000 ..< 10000] and the rest [0 ..< 4000].
        let ranges = [[0 ..< 1000], [1000 ..< 4000], [4000 ..< 10000]]
        let buckets = GradientBuckets(gradientRanges: ranges, count: 10000, bucketBytes: 16 << 10)
        #expect(buckets.ranges == [4000 ..< 10000, 0 ..< 4000])
        let reduction = GradientReduction(buckets: buckets, overlap: .auto) { $0 > 5000 ? .ring : .mpi }
        #expect(reduction.algorithms == [.ring, .mpi])
    }

    @Test("overlap pays from 2 % of forward and backward on; nothing is decided from a step without compute")
    func overlapRule() {
        #expect(GradientReduction.overlapPays(allreduceSeconds: 0.109, computeSeconds: 0.219))
        #expect(GradientReduction.overlapPays(allreduceSeconds: 0.002, computeSeconds: 0.1))
        #expect(!GradientReduction.overlapPays(allreduceSeconds: 0.0019, computeSeconds: 0.1))
        #expect(!GradientReduction.overlapPays(allreduceSeconds: 0.0003, computeSeconds: 0.115))
        #expect(!GradientReduction.overlapPays(allreduceSeconds: 1, computeSeconds: 0))
    }

    @Test("the decision says what it was made from")
    func decisionSummary() {
        let on = OverlapDecision(overlaps: true, allreduceSeconds: 0.1093, computeSeconds: 0.2186)
        #expect(on.summary.hasPrefix("on: the all-reduce took "))
        #expect(on.summary.contains("(50.00%; 2.00% or more)"), "\(on.summary)")
        let off = OverlapDecision(overlaps: false, allreduceSeconds: 0.0003, computeSeconds: 0.115)
        #expect(off.summary.hasPrefix("off: ") && off.summary.contains("(0.26%; under 2.00%)"), "\(off.summary)")
    }

    @Test("a patient wait may pause until the waiter is hurried, and again once relaxed")
    func pace() {
        let pace = Pace()
        #expect(pace.allowsPauses)
        pace.hurry()
        #expect(!pace.allowsPauses)
        pace.relax()
        #expect(pace.allowsPauses)
    }
}

import Benchmarks
import Collectives
import Foundation
import Testing

@Suite("The α–β model of the all-reduces")
struct AllreduceModelTests {
    @Test("message steps and bytes of each algorithm")
    func shapes() {
        let n = 1000.0
        #expect(AllreduceShape.ring.terms(ranks: 4, bytes: n) == (6, 1500))
        #expect(AllreduceShape.ring.terms(ranks: 1, bytes: n) == (0, 0))
        #expect(AllreduceShape.recursiveDoubling.terms(ranks: 2, bytes: n) == (1, 1000))
        #expect(AllreduceShape.recursiveDoubling.terms(ranks: 8, bytes: n) == (3, 3000))
        #expect(AllreduceShape.recursiveDoubling.terms(ranks: 6, bytes: n) == (4, 4000))   // 2 steps of 4 + 2 extra
        #expect(AllreduceShape.rabenseifner.terms(ranks: 8, bytes: n) == (6, 1750))
        #expect(AllreduceShape.rabenseifner.terms(ranks: 3, bytes: n) == (4, 3000))        // N' = 2: 2 steps + 2 extra
    }

    @Test("the fit recovers α and β from exact times, and ignores one-rank points")
    func fitRecoversParameters() throws {
        let truth = LinkCost(latency: 40e-6, secondsPerByte: 1 / 12.5e6)
        let points = [4096, 65536, 1 << 20, 16 << 20].map { bytes in
            AllreduceModel.Point(ranks: 2, bytes: bytes,
                                 seconds: AllreduceShape.ring.seconds(ranks: 2, bytes: Double(bytes), cost: truth))
        } + [AllreduceModel.Point(ranks: 1, bytes: 4096, seconds: 1e-9)]
        let fitted = try AllreduceModel.fit(points, shape: .ring)
        #expect(abs(fitted.latency - truth.latency) / truth.latency < 1e-6)
        #expect(abs(fitted.secondsPerByte - truth.secondsPerByte) / truth.secondsPerByte < 1e-6)
    }

    @Test("a fit never gives a negative latency or bandwidth cost; one size is not enough")
    func fitIsConstrained() throws {
        // Times that fall faster than linearly would need α < 0: α is held at 0.
        let points = [(1024, 1e-6), (1 << 20, 5e-3), (4 << 20, 10e-3)].map {
            AllreduceModel.Point(ranks: 2, bytes: $0.0, seconds: $0.1)
        }
        let fitted = try AllreduceModel.fit(points, shape: .ring)
        #expect(fitted.latency >= 0 && fitted.secondsPerByte > 0)
        #expect(throws: AllreduceModel.FitError.self) {
            try AllreduceModel.fit([AllreduceModel.Point(ranks: 2, bytes: 4096, seconds: 1e-4)], shape: .ring)
        }
    }

    @Test("MPI is the cheaper of recursive doubling and Rabenseifner; auto the cheaper of ring and MPI")
    func envelopes() {
        let cost = LinkCost(latency: 1e-4, secondsPerByte: 1e-8)
        let model = AllreduceModel(ring: cost, mpi: cost)
        // Small buffers: recursive doubling's log₂N steps beat the ring's 2(N−1).
        #expect(model.mpiSeconds(ranks: 16, bytes: 1024) == AllreduceShape.recursiveDoubling.seconds(ranks: 16, bytes: 1024, cost: cost))
        #expect(model.autoSeconds(ranks: 16, bytes: 1024) < model.ringSeconds(ranks: 16, bytes: 1024))
        // Large buffers: Rabenseifner moves what the ring moves in fewer steps.
        let large = 64 << 20
        #expect(model.mpiSeconds(ranks: 16, bytes: large) == AllreduceShape.rabenseifner.seconds(ranks: 16, bytes: Double(large), cost: cost))
        #expect(model.seconds(.ring, ranks: 16, bytes: large) > model.seconds(.mpi, ranks: 16, bytes: large))
    }

    @Test("weak scaling: efficiency is the compute time over the step time; images grow with the ranks")
    func scaling() {
        let cost = LinkCost(latency: 0, secondsPerByte: 1e-8)
        let model = AllreduceModel(ring: cost, mpi: LinkCost(latency: 1, secondsPerByte: 1))
        let workload = ScalingPrediction(model: "m", gradientBytes: 1_000_000, computeSeconds: 0.1, imagesPerRank: 64)
        let one = workload.row(ranks: 1, model: model)
        #expect(one.efficiency == 1 && one.imagesPerSecond == 640)
        let four = workload.row(ranks: 4, model: model)
        #expect(abs(four.ringSeconds - 2 * 3.0 / 4 * 1e6 * 1e-8) < 1e-12)         // 15 ms
        #expect(abs(four.efficiency - 0.1 / 0.115) < 1e-9)
        #expect(abs(four.imagesPerSecond - 4 * 64 / 0.115) < 1e-6)
    }

    @Test("records: between-host rows of ring (network settings) and mpi are read; others left out; bad lines named")
    func records() throws {
        let text = """
            {"op":"allreduce","algo":"ring","ranks":2,"hosts":2,"bytes":4096,"ring_chunk_bytes":4194304,"ring_depth":4,"seconds":0.001}
            {"op":"allreduce","algo":"ring","ranks":2,"hosts":2,"bytes":4096,"ring_chunk_bytes":262144,"ring_depth":1,"seconds":0.002}
            {"op":"allreduce","algo":"mpi","ranks":2,"hosts":2,"bytes":4096,"seconds":0.003}
            {"op":"allreduce","algo":"auto","ranks":2,"hosts":2,"bytes":4096,"chose":"ring","seconds":0.001}
            {"op":"allreduce","algo":"mpi","ranks":2,"hosts":1,"bytes":4096,"seconds":0.0001}
            """
        let records = try AllreduceRecord.parse(text, source: "x.jsonl")
        #expect(records.map(\.seconds) == [0.001, 0.003])
        #expect(throws: AllreduceRecord.ParseError.self) { try AllreduceRecord.parse("{\"op\":\"step\"}", source: "y.jsonl") }
    }
}

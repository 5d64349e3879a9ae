import Collectives
import Foundation
import Testing

@Suite("Choosing the all-reduce: --allreduce values, the policy, host layouts")
struct AllreduceSelectionTests {
    @Test("--allreduce accepts auto, ring and mpi only")
    func choices() {
        #expect(AllreduceChoice("auto") == .auto)
        #expect(AllreduceChoice("ring") == .always(.ring) && AllreduceChoice("mpi") == .always(.mpi))
        #expect(AllreduceChoice("Ring") == nil && AllreduceChoice("") == nil && AllreduceChoice("both") == nil)
        #expect(AllreduceChoice.names == ["auto", "ring", "mpi"])
    }

    static func measurement(_ count: Int, ring: Double, mpi: Double) -> AllreducePolicy.Measurement {
        AllreducePolicy.Measurement(count: count, ringSeconds: ring, mpiSeconds: mpi, calls: 5)
    }

    @Test("a size uses the decision of the nearest measured size on a logarithmic scale; ties go to the ring")
    func nearestSize() {
        let policy = AllreducePolicy(measurements: [
            Self.measurement(1 << 20, ring: 2, mpi: 1),      // 4 MiB: mpi
            Self.measurement(1 << 10, ring: 1, mpi: 1),      // 4 KiB: a tie, ring
            Self.measurement(1 << 24, ring: 1, mpi: 3),      // 64 MiB: ring
        ])
        #expect(policy.measurements.map(\.count) == [1 << 10, 1 << 20, 1 << 24])
        #expect(policy.algorithm(forCount: 1) == .ring)
        #expect(policy.algorithm(forCount: 1 << 10) == .ring)
        #expect(policy.algorithm(forCount: 1 << 14) == .ring)          // 2^4 from 4 KiB, 2^6 from 4 MiB
        #expect(policy.algorithm(forCount: 1 << 16) == .mpi)           // 2^4 from 4 MiB, 2^6 from 4 KiB
        #expect(policy.algorithm(forCount: (1 << 20) + 5) == .mpi)
        #expect(policy.algorithm(forCount: 1 << 23) == .ring)
        #expect(policy.algorithm(forCount: 1 << 30) == .ring)
        #expect(AllreducePolicy(measurements: []).algorithm(forCount: 100) == .ring)
        #expect(AllreducePolicy.always(.mpi).algorithm(forCount: 1 << 20) == .mpi)
    }

    @Test("the measurements survive JSON (what checkpoints record), snake_case for Python readers")
    func recording() throws {
        let measurements = [Self.measurement(1000, ring: 0.5e-3, mpi: 0.25e-3)]
        let data = try JSONEncoder().encode(measurements)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"ring_seconds\"") && text.contains("\"mpi_seconds\""))
        let decoded = try JSONDecoder().decode([AllreducePolicy.Measurement].self, from: data)
        #expect(decoded == measurements && AllreducePolicy(measurements: decoded).algorithm(forCount: 1000) == .mpi)
    }

    @Test("one rank has nothing to measure; a fixed choice is used for every size")
    func oneRank() throws {
        let single = SingleProcessCommunicator()
        #expect(try AllreducePolicy.resolve(.auto, counts: [1000], on: single) == .always(.ring))
        #expect(try AllreducePolicy.resolve(.always(.mpi), counts: [1000], on: single) == .always(.mpi))
        #expect(AllreducePolicy.always(.ring).summary == "ring for every size")
    }

    @Test("host layouts: hosts numbered by first rank; one host is shared memory, more are a network")
    func layouts() {
        let mixed = HostLayout(keys: ["b", "b", "a", "c", "a"])
        #expect(mixed.hostOfRank == [0, 0, 1, 2, 1])
        #expect(mixed.hostCount == 3 && mixed.ranksPerHost == [2, 2, 1] && mixed.transport == .network)
        #expect(mixed.summary == "5 ranks on 3 hosts (network)")
        let one = HostLayout.singleHost(ranks: 2)
        #expect(one.transport == .sharedMemory && one.summary == "2 ranks on 1 host (shared memory)")
        #expect(RingSettings.suited(to: .network) == .network && RingSettings.suited(to: .sharedMemory) == .sharedMemory)
    }

    @Test("median: middle value, or the mean of the middle two")
    func medians() {
        #expect(median([3, 1, 2]) == 2)
        #expect(median([4, 1, 3, 2]) == 2.5)
    }
}

import Collectives
import Testing

@Suite("Single-process communicator")
struct SingleProcessCommunicatorTests {
    @Test("collectives are the identity for one rank")
    func identity() throws {
        let world = SingleProcessCommunicator()
        var values: [Float] = [1, 2.5, -3]
        try world.allreduceSum(&values, algorithm: .ring)
        try world.allreduceSum(&values, algorithm: .mpi)
        #expect(values == [1, 2.5, -3])
        #expect(try world.allgather(UInt64(42)) == [42])
        #expect(try world.allgather("node-a") == ["node-a"])
        #expect(try world.allreduceMax(Int64(-7)) == -7)
        #expect(try world.collectively { 7 } == 7)
        struct DiskFull: Error, CustomStringConvertible { var description: String { "disk full" } }
        #expect { try world.collectively { throw DiskFull() } } throws: { error in
            let failure = error as? AgreedFailure
            return failure?.rank == 0 && failure?.message == "disk full" && "\(error)" == "disk full"
        }
        var bytes: [UInt8] = [1, 2, 3]
        #expect(throws: CommunicatorUsageError.self) { try world.broadcast(&bytes, root: 1) }
    }
}

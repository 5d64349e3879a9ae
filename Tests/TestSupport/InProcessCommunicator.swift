import Collectives
import Foundation

/// One rank of an `InProcessNetwork` as a `Communicator`: the collectives written over the
/// in-process mailboxes, so that code written against `Communicator` (the trainer, the
/// benchmarks) runs with N ranks as N threads of one test process, without MPI.
///
/// The Float all-reduce is the package's `RingAllreduce` (`.ring`) or, for `.mpi`, a reduction at
/// rank 0 in rank order followed by a broadcast; the Double sum and the Int64 maximum are reduced
/// at rank 0 in rank order. Every collective is bitwise the same on every rank. Every rank must
/// call the same collectives in the same order, as with MPI.
public final class InProcessCommunicator: Communicator, @unchecked Sendable {
    public let endpoint: InProcessNetwork.Endpoint
    private let ring = RingAllreduce()

    public init(_ endpoint: InProcessNetwork.Endpoint) { self.endpoint = endpoint }

    public var rank: Int { endpoint.rank }
    public var size: Int { endpoint.size }
    /// Buckets of the gradient are all-reduced after backward, on the rank's own thread (the
    /// overlap on a second thread is tested under mpirun, tests/CLITests/OverlapCLITests.swift).
    public var allowsCallsFromAnotherThread: Bool { false }

    public func barrier() throws {
        var token: [Int64] = [0]
        try token.withUnsafeMutableBufferPointer { try allreduceMax($0) }
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        guard (0 ..< size).contains(root) else { throw CommunicatorUsageError("broadcast root \(root) of \(size) ranks") }
        if rank == root {
            for destination in 0 ..< size where destination != root {
                try endpoint.send(UnsafeRawBufferPointer(buffer), to: destination)
            }
        } else {
            try endpoint.receive(into: buffer, from: root)
        }
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, algorithm: AllreduceAlgorithm) throws {
        switch algorithm {
        case .ring: try ring(buffer, over: endpoint)
        case .mpi: try reduceAtRoot(buffer, +)
        }
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws { try reduceAtRoot(buffer, +) }

    public func allreduceMax(_ buffer: UnsafeMutableBufferPointer<Int64>) throws { try reduceAtRoot(buffer, max) }

    public func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws {
        guard receive.count == send.count * size else {
            throw CommunicatorUsageError("allgather: receive holds \(receive.count) bytes, expected \(send.count * size)")
        }
        for destination in 0 ..< size where destination != rank { try endpoint.send(send, to: destination) }
        for source in 0 ..< size {
            let slot = UnsafeMutableRawBufferPointer(rebasing: receive[source * send.count ..< (source + 1) * send.count])
            if source == rank {
                slot.copyMemory(from: send)
            } else {
                try endpoint.receive(into: slot, from: source)
            }
        }
    }

    public func abort(message: String, code: Int32) -> Never {
        fatalError("rank \(rank) aborted the in-process job (status \(code)): \(message)")
    }

    /// Rank 0 combines every rank's buffer in rank order (`combine(sum so far, rank r's)`) and sends
    /// the result to every rank.
    private func reduceAtRoot<T>(_ buffer: UnsafeMutableBufferPointer<T>, _ combine: (T, T) -> T) throws {
        guard size > 1 else { return }
        let bytes = UnsafeMutableRawBufferPointer(buffer)
        if rank == 0 {
            var incoming = [T](unsafeUninitializedCapacity: buffer.count) { storage, count in
                storage.baseAddress!.initialize(from: buffer.baseAddress!, count: buffer.count)
                count = buffer.count
            }
            for source in 1 ..< size {
                try incoming.withUnsafeMutableBytes { try endpoint.receive(into: $0, from: source) }
                for i in buffer.indices { buffer[i] = combine(buffer[i], incoming[i]) }
            }
        } else {
            try endpoint.send(UnsafeRawBufferPointer(bytes), to: 0)
        }
        try broadcast(bytes, root: 0)
    }
}

extension InProcessNetwork {
    /// Runs `body` on `size` threads at once, each with its rank's communicator; the results in
    /// rank order.
    public func runCommunicators<T>(_ body: @escaping @Sendable (InProcessCommunicator) throws -> T) throws -> [T] {
        try run { endpoint in try body(InProcessCommunicator(endpoint)) }
    }
}

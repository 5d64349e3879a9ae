import Formatting
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The communicator of a job with one rank and no transport: every collective is the identity.
/// Used where code needs a `Communicator` but no MPI runtime is wanted (unit tests, tools).
public final class SingleProcessCommunicator: Communicator {
    public init() {}

    public var rank: Int { 0 }
    public var size: Int { 1 }

    public func barrier() throws {}
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        guard root == 0 else { throw CommunicatorUsageError("broadcast root \(root) is not a rank of a 1-rank job") }
    }
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, algorithm: AllreduceAlgorithm) throws {}
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {}
    public func allreduceMax(_ buffer: UnsafeMutableBufferPointer<Int64>) throws {}

    public func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws {
        guard receive.count == send.count else {
            throw CommunicatorUsageError("allgather: receive holds \(receive.count) bytes, expected \(send.count)")
        }
        if let destination = receive.baseAddress, let source = send.baseAddress {
            destination.copyMemory(from: source, byteCount: send.count)
        }
    }

    public func abort(message: String, code: Int32) -> Never {
        StandardError.report(message)
        exit(code)
    }
}

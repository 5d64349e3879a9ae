/// The seam between training code and the transport that connects the ranks.
///
/// Training code sees only this protocol: the rank, the number of ranks and a handful of
/// collectives. `MPICommunicator` (module SwiftMPI) is the production implementation;
/// `SingleProcessCommunicator` is the one-rank case, and tests run the same collectives over an
/// in-process transport. All buffers are contiguous and reduced in place; the ring all-reduce is
/// written once, over `PointToPoint`, in `RingAllreduce`.
public protocol Communicator: AnyObject {
    /// This process's rank, `0 ..< size`.
    var rank: Int { get }
    /// The number of ranks.
    var size: Int { get }

    /// Blocks until every rank has called `barrier()`.
    func barrier() throws

    /// Copies `root`'s bytes into `buffer` on every other rank. Every rank passes the same count.
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws

    /// Replaces `buffer` on every rank by the element-wise sum over all ranks.
    /// The result is bitwise identical on every rank, whatever the algorithm.
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, algorithm: AllreduceAlgorithm) throws

    /// The same sum, waited for as `waiting` says (the same bits either way). Implementations
    /// without a notion of polling (the default) ignore `waiting`.
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, algorithm: AllreduceAlgorithm,
                      waiting: Waiting) throws

    /// Replaces `buffer` on every rank by the element-wise sum over all ranks.
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws

    /// Replaces `buffer` on every rank by the element-wise maximum over all ranks.
    func allreduceMax(_ buffer: UnsafeMutableBufferPointer<Int64>) throws

    /// Gathers `send` from every rank into `receive`, rank `i`'s bytes at offset `i * send.count`.
    /// `receive.count` must be `send.count * size`.
    func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws

    /// Stops every rank of the job: prints `message` on standard error and exits with `code`.
    func abort(message: String, code: Int32) -> Never

    /// Whether a thread other than the one that started the communicator may call it, one
    /// thread at a time (MPI's `MPI_THREAD_SERIALIZED`): the all-reduce overlapped with backward
    /// needs it. True unless the implementation says otherwise.
    var allowsCallsFromAnotherThread: Bool { get }

    /// Bounds every later collective by `timeout` seconds: a rank that stops making progress ends
    /// the job with a message naming it, instead of a silent hang. Collective. Transports that
    /// cannot hang (one process, threads of a test) ignore it.
    func watchForHangs(timeout: Double) throws

    /// What the job is doing now ("step 120 (epoch 2, step 17 of 390)"), for that message.
    func note(activity: String)
}

/// How a Float all-reduce is carried out.
public enum AllreduceAlgorithm: String, CaseIterable, Sendable {
    /// The ring of `RingAllreduce`: reduce-scatter then all-gather over point-to-point calls.
    case ring
    /// The transport's own collective (`MPI_Allreduce` for MPI).
    case mpi
}

/// A collective was called with arguments that cannot be right on any rank.
public struct CommunicatorUsageError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - Conveniences over the primitive collectives

extension Communicator {
    /// `true` on rank 0, the rank that prints and writes files.
    public var isRoot: Bool { rank == 0 }

    public var allowsCallsFromAnotherThread: Bool { true }

    public func watchForHangs(timeout: Double) throws {}

    public func note(activity: String) {}

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, algorithm: AllreduceAlgorithm,
                             waiting: Waiting) throws {
        try allreduceSum(buffer, algorithm: algorithm)
    }

    public func allreduceSum(_ array: inout [Float], algorithm: AllreduceAlgorithm = .ring) throws {
        try array.withUnsafeMutableBufferPointer { try allreduceSum($0, algorithm: algorithm) }
    }

    public func allreduceSum(_ array: inout [Double]) throws {
        try array.withUnsafeMutableBufferPointer { try allreduceSum($0) }
    }

    /// The sum over ranks of one value per rank.
    public func allreduceSum(_ value: Double) throws -> Double {
        var box = [value]
        try allreduceSum(&box)
        return box[0]
    }

    /// The maximum over ranks of one value per rank.
    public func allreduceMax(_ value: Int64) throws -> Int64 {
        var box = [value]
        try box.withUnsafeMutableBufferPointer { try allreduceMax($0) }
        return box[0]
    }

    /// Broadcasts a whole array of trivial values from `root`; all ranks pass arrays of the same count.
    public func broadcast<T: BitwiseCopyable>(_ array: inout [T], root: Int = 0) throws {
        try array.withUnsafeMutableBytes { try broadcast($0, root: root) }
    }

    /// Root's bytes on every rank, whatever their length (the other ranks' `bytes` are ignored):
    /// for texts only the root has read, such as a resolved configuration.
    public func broadcast(bytes: [UInt8], root: Int = 0) throws -> [UInt8] {
        var length = [Int64(rank == root ? bytes.count : 0)]
        try broadcast(&length, root: root)
        var received = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length[0]))
        try broadcast(&received, root: root)
        return received
    }

    /// One value from every rank, in rank order.
    public func allgather<T: BitwiseCopyable>(_ value: T) throws -> [T] {
        var gathered = [T](repeating: value, count: size)
        try withUnsafeBytes(of: value) { send in
            try gathered.withUnsafeMutableBytes { try allgather(send, into: $0) }
        }
        return gathered
    }

    /// One string from every rank, in rank order (UTF-8, truncated to `maxBytes`).
    public func allgather(_ string: String, maxBytes: Int = 256) throws -> [String] {
        var send = [UInt8](repeating: 0, count: maxBytes + 2)
        let utf8 = Array(string.utf8.prefix(maxBytes))
        send[0] = UInt8(utf8.count & 0xff)
        send[1] = UInt8(utf8.count >> 8)
        send.replaceSubrange(2 ..< 2 + utf8.count, with: utf8)
        var receive = [UInt8](repeating: 0, count: send.count * size)
        try send.withUnsafeBytes { s in try receive.withUnsafeMutableBytes { try allgather(s, into: $0) } }
        return (0 ..< size).map { r in
            let base = r * send.count
            let length = Int(receive[base]) | Int(receive[base + 1]) << 8
            return String(decoding: receive[base + 2 ..< base + 2 + length], as: UTF8.self)
        }
    }

}

/// An error that every rank of the job raises together (from `collectively`, or from checks that
/// all ranks evaluate on the same inputs). A job that catches one can finalize and exit cleanly on
/// every rank; any other error is rank-local and must abort the job, or the other ranks would wait
/// forever in their next collective.
public protocol CollectiveFailure: Error, CustomStringConvertible, Failing {}

/// How a job ended, as the status every rank exits with: what a job script or
/// `launch/run --restarts` acts on (README, "When things fail").
public enum ExitStatus: Int32, Sendable {
    /// Something failed that may not fail again: a rank, node or link lost, a hang, a file that
    /// could not be written. Resuming from the last checkpoint is worth a try.
    case failed = 1
    /// The options, a file or the data are wrong: nothing to retry until they are fixed.
    case refused = 2
    /// Training diverged (a non-finite loss): resuming would repeat it.
    case diverged = 3
    /// Stopped on request (a signal) at a step boundary, after writing a checkpoint: resume to go on.
    case stopped = 75
}

/// An error that says how the job should end. Errors that do not are failures (`.failed`).
public protocol Failing: Error {
    var exitStatus: ExitStatus { get }
}

extension Failing {
    public var exitStatus: ExitStatus { .failed }
}

extension Error {
    /// The exit status this error calls for.
    public var exitStatus: ExitStatus { (self as? any Failing)?.exitStatus ?? .failed }
}

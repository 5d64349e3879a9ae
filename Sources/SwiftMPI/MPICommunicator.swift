import CMPI
import Collectives
import Formatting
#if canImport(Glibc)
import Glibc
#endif

/// An MPI communicator as a `Communicator` and a `PointToPoint` transport.
///
/// Every MPI return code is checked and a failure is thrown as `MPIError` (the communicator's
/// error handler is `MPI_ERRORS_RETURN`). Float all-reduces run either `MPI_Allreduce` or the
/// package's own `RingAllreduce` over this communicator's `MPI_Isend`/`MPI_Irecv`, with the ring
/// settings measured best for the transport between the ranks (`hosts.transport`).
public final class MPICommunicator: SplittableCommunicator, PointToPoint {
    public typealias Request = MPI_Request?

    public let handle: MPI_Comm
    public let rank: Int
    public let size: Int
    /// Which host each rank runs on (ranks that can share memory are on one host).
    public let hosts: HostLayout
    private let ring: RingAllreduce
    /// Set by `watchForHangs`.
    private var watch: HangWatch?

    /// How the ring all-reduce cuts its messages (`RingSettings.suited(to: hosts.transport)` unless set).
    public var ringSettings: RingSettings {
        get { ring.settings }
        set { ring.settings = newValue }
    }

    /// Wraps an existing communicator (the world communicator comes from `MPIRuntime.initialize()`).
    /// Collective: finds out which ranks share a host (`MPI_Comm_split_type`).
    public init(_ handle: MPI_Comm) throws {
        self.handle = handle
        var rank: Int32 = 0, size: Int32 = 0
        try check(MPI_Comm_rank(handle, &rank), "MPI_Comm_rank")
        try check(MPI_Comm_size(handle, &size), "MPI_Comm_size")
        self.rank = Int(rank)
        self.size = Int(size)
        hosts = try Self.hostLayout(of: handle, rank: Int(rank), size: Int(size))
        ring = RingAllreduce(settings: .suited(to: hosts.transport))
    }

    /// Each rank's host, identified by the lowest rank that shares memory with it.
    private static func hostLayout(of handle: MPI_Comm, rank: Int, size: Int) throws -> HostLayout {
        guard size > 1 else { return .singleHost(ranks: size) }
        var local: MPI_Comm? = nil
        try check(MPI_Comm_split_type(handle, cmpi_comm_type_shared(), Int32(rank), cmpi_info_null(), &local),
                  "MPI_Comm_split_type", rank: rank)
        defer { _ = MPI_Comm_free(&local) }
        var own = Int64(rank), lowest = Int64(0)
        try check(MPI_Allreduce(&own, &lowest, 1, cmpi_int64(), cmpi_op_min(), local), "MPI_Allreduce", rank: rank)
        var keys = [Int64](repeating: 0, count: size)
        try check(MPI_Allgather(&lowest, 1, cmpi_int64(), &keys, 1, cmpi_int64(), handle), "MPI_Allgather", rank: rank)
        return HostLayout(keys: keys)
    }

    // MARK: Communicator

    public var allowsCallsFromAnotherThread: Bool { MPIRuntime.providesSerializedThreads }

    public func barrier() throws {
        try collective("MPI_Ibarrier") { try check(MPI_Ibarrier(handle, &$0), "MPI_Ibarrier", rank: rank) }
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        for piece in buffer.pieces() {
            try collective("MPI_Ibcast") {
                try check(MPI_Ibcast(piece.start, piece.count, cmpi_byte(), Int32(root), handle, &$0), "MPI_Ibcast", rank: rank)
            }
        }
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, algorithm: AllreduceAlgorithm) throws {
        try allreduceSum(buffer, algorithm: algorithm, waiting: .busy)
    }

    /// The ring waits for its messages as `waiting` says. `.mpi` is `MPI_Allreduce` whatever the
    /// waiting, so that a bucket adds in the same order during backward as after it (at three
    /// ranks or more `MPI_Iallreduce` adds in another order, and on shared memory it measured
    /// 1.3–1.7× slower). Waiting patiently, or watched for hangs, the ranks first meet in an
    /// `MPI_Ibarrier` polled by the test loop: the time spent waiting for a slower rank is slept,
    /// and bounded by the collective timeout; only the sum itself polls inside MPI.
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, algorithm: AllreduceAlgorithm,
                             waiting: Waiting) throws {
        guard size > 1, buffer.count > 0 else { return }
        let start = beginCollective()
        defer { endCollective() }
        switch algorithm {
        case .ring:
            try ring(buffer, over: Paced(communicator: self, waiting: waiting, start: start))
        case .mpi:
            var meetFirst = watch != nil
            if case .patient = waiting { meetFirst = true }
            if meetFirst {
                var requests: [MPI_Request?] = [nil]
                try check(MPI_Ibarrier(handle, &requests[0]), "MPI_Ibarrier", rank: rank)
                try complete(&requests, waiting: waiting, since: start, "MPI_Ibarrier")
            }
            try check(MPI_Allreduce(cmpi_in_place(), buffer.baseAddress, try Self.count(buffer.count), cmpi_float(),
                                    cmpi_op_sum(), handle), "MPI_Allreduce", rank: rank)
        }
    }

    /// Polls `requests` until all have completed: without pause when `waiting` is busy, with the
    /// `Poller`'s pauses when patient; within the collective timeout when watched (`HangWatch`),
    /// counted from `start`, the collective's beginning.
    func complete(_ requests: inout [MPI_Request?], waiting: Waiting, since start: UInt64, _ call: StaticString) throws {
        let count = Int32(requests.count)
        var poller: Poller? = nil
        if case .patient(let pace) = waiting { poller = Poller(pace: pace) }
        guard poller != nil || watch != nil else {
            try requests.withUnsafeMutableBufferPointer {
                try check(MPI_Waitall(count, $0.baseAddress, cmpi_statuses_ignore()), call, rank: rank)
            }
            return
        }
        var done: Int32 = 0
        var polls = 0
        while true {
            try requests.withUnsafeMutableBufferPointer {
                try check(MPI_Testall(count, $0.baseAddress, &done, cmpi_statuses_ignore()), call, rank: rank)
            }
            if done != 0 { return }
            polls += 1
            if let watch, poller != nil || polls & 1023 == 0 { watch.poll(since: start, in: call) }
            poller?.pause()
        }
    }

    /// Runs one nonblocking collective, started by `start` (which sets its request), to completion:
    /// busy, and watched.
    private func collective(_ call: StaticString, _ start: (inout MPI_Request?) throws -> Void) throws {
        let begun = beginCollective()
        defer { endCollective() }
        var requests: [MPI_Request?] = [nil]
        try start(&requests[0])
        try complete(&requests, waiting: .busy, since: begun, call)
    }

    private func beginCollective() -> UInt64 {
        watch?.begin()
        return monotonicNanoseconds()
    }

    private func endCollective() { watch?.end() }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try allreduce(buffer, datatype: cmpi_double(), op: cmpi_op_sum())
    }

    public func allreduceMax(_ buffer: UnsafeMutableBufferPointer<Int64>) throws {
        try allreduce(buffer, datatype: cmpi_int64(), op: cmpi_op_max())
    }

    /// Bounds every collective of this communicator by `timeout` seconds and names the ranks that
    /// stop making progress (`HangWatch`). Collective.
    public func watchForHangs(timeout: Double) throws {
        guard size > 1, watch == nil else { return }
        watch = try HangWatch(world: self, timeout: timeout)
    }

    /// What the job is doing, for the message of a hang ("step 120 of epoch 2").
    public func note(activity: String) { watch?.activity = activity }

    public func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws {
        guard receive.count == send.count * size else {
            throw CommunicatorUsageError("allgather: receive holds \(receive.count) bytes, expected \(send.count * size)")
        }
        guard send.count > 0 else { return }
        guard send.count <= Int(Int32.max) else {
            throw CommunicatorUsageError("allgather: \(send.count) bytes per rank exceed MPI's count limit")
        }
        try collective("MPI_Iallgather") {
            try check(MPI_Iallgather(send.baseAddress, Int32(send.count), cmpi_byte(),
                                     receive.baseAddress, Int32(send.count), cmpi_byte(), handle, &$0),
                      "MPI_Iallgather", rank: rank)
        }
    }

    public func abort(message: String, code: Int32) -> Never {
        StandardError.report("rank \(rank): \(message)")
        _ = MPI_Abort(handle, code)
        exit(code)   // MPI_Abort does not return; this satisfies the type checker.
    }

    // MARK: Sub-communicators and waiting

    /// `MPI_Comm_split`: the ranks passing the same `color` form a new communicator, ordered by
    /// `key`; a rank passing nil gets nil back. Collective over this communicator.
    public func split(color: Int?, key: Int = 0) throws -> MPICommunicator? {
        var newComm: MPI_Comm? = nil
        try check(MPI_Comm_split(handle, color.map(Int32.init) ?? cmpi_undefined(), Int32(key), &newComm),
                  "MPI_Comm_split", rank: rank)
        guard let newComm, color != nil else { return nil }
        try check(MPI_Comm_set_errhandler(newComm, cmpi_errors_return()), "MPI_Comm_set_errhandler", rank: rank)
        return try MPICommunicator(newComm)
    }

    /// A barrier that sleeps while it waits (`MPI_Ibarrier` polled every `interval` seconds), so that
    /// ranks waiting for others leave their cores to the ranks that work: `MPI_Barrier` busy-polls.
    public func sleepingBarrier() throws { try sleepingBarrier(interval: 0.002) }

    /// `sleepingBarrier()`, testing for completion every `interval` seconds.
    public func sleepingBarrier(interval: Double) throws {
        var request: MPI_Request? = nil
        try check(MPI_Ibarrier(handle, &request), "MPI_Ibarrier", rank: rank)
        var done: Int32 = 0
        var pause = timespec(tv_sec: 0, tv_nsec: Int(interval * 1e9))
        while true {
            try check(MPI_Test(&request, &done, cmpi_status_ignore()), "MPI_Test", rank: rank)
            if done != 0 { return }
            nanosleep(&pause, nil)
        }
    }

    // MARK: PointToPoint

    public func startSend(_ bytes: UnsafeRawBufferPointer, to destination: Int, tag: Int32) throws -> Request {
        var request: MPI_Request? = nil
        try check(MPI_Isend(bytes.baseAddress, try Self.count(bytes.count), cmpi_byte(), Int32(destination), tag,
                            handle, &request), "MPI_Isend", rank: rank)
        return request
    }

    public func startReceive(into buffer: UnsafeMutableRawBufferPointer, from source: Int, tag: Int32) throws -> Request {
        var request: MPI_Request? = nil
        try check(MPI_Irecv(buffer.baseAddress, try Self.count(buffer.count), cmpi_byte(), Int32(source), tag,
                            handle, &request), "MPI_Irecv", rank: rank)
        return request
    }

    public func wait(_ requests: inout [Request]) throws {
        try complete(&requests, waiting: .busy, since: monotonicNanoseconds(), "MPI_Waitall")
    }

    // MARK: Helpers

    /// The small all-reduces (sums of doubles, maxima of integers: totals, agreements) as
    /// `MPI_Iallreduce`, so that they are watched like the others.
    private func allreduce<T>(_ buffer: UnsafeMutableBufferPointer<T>, datatype: MPI_Datatype, op: MPI_Op) throws {
        guard size > 1, buffer.count > 0 else { return }
        let count = try Self.count(buffer.count)
        try collective("MPI_Iallreduce") {
            try check(MPI_Iallreduce(cmpi_in_place(), buffer.baseAddress, count, datatype, op, handle, &$0),
                      "MPI_Iallreduce", rank: rank)
        }
    }

    private static func count(_ n: Int) throws -> Int32 {
        guard n <= Int(Int32.max) else {
            throw CommunicatorUsageError("a message of \(n) elements exceeds MPI's count limit of \(Int32.max)")
        }
        return Int32(n)
    }
}

/// This communicator's point-to-point calls, waited for as `waiting` says: what the ring runs over.
private struct Paced: PointToPoint {
    let communicator: MPICommunicator
    let waiting: Waiting
    /// When the collective began, for its timeout.
    let start: UInt64

    var rank: Int { communicator.rank }
    var size: Int { communicator.size }

    func startSend(_ bytes: UnsafeRawBufferPointer, to destination: Int, tag: Int32) throws -> MPI_Request? {
        try communicator.startSend(bytes, to: destination, tag: tag)
    }

    func startReceive(into buffer: UnsafeMutableRawBufferPointer, from source: Int, tag: Int32) throws -> MPI_Request? {
        try communicator.startReceive(into: buffer, from: source, tag: tag)
    }

    func wait(_ requests: inout [MPI_Request?]) throws {
        try communicator.complete(&requests, waiting: waiting, since: start, "MPI_Testall")
    }
}

/// The pauses of a patient wait: `spins` polls without pause (a message that is nearly there
/// costs no sleep), then sleeps between polls that double from `shortest` to `longest` for as
/// long as the pace allows them. Each wake-up takes the core from backward for a context switch,
/// so the pauses grow: a bucket that waits for a slower rank wakes a few dozen times, not
/// thousands; the longest pause bounds how late a finished message is noticed.
struct Poller {
    let pace: Pace
    private var polls = 0
    private var nanoseconds = Self.shortest
    static let spins = 64
    static let shortest = 20_000, longest = 1_000_000

    init(pace: Pace) { self.pace = pace }

    mutating func pause() {
        polls += 1
        guard polls > Self.spins, pace.allowsPauses else { return }
        var interval = timespec(tv_sec: 0, tv_nsec: nanoseconds)
        nanosleep(&interval, nil)
        nanoseconds = min(2 * nanoseconds, Self.longest)
    }
}

extension UnsafeMutableRawBufferPointer {
    /// The buffer as pieces of at most `Int32.max` bytes, the largest count one MPI call takes.
    fileprivate func pieces() -> [(start: UnsafeMutableRawPointer?, count: Int32)] {
        guard let base = baseAddress, count > 0 else { return [] }
        let limit = Int(Int32.max)
        return stride(from: 0, to: count, by: limit).map { (base + $0, Int32(Swift.min(limit, count - $0))) }
    }
}

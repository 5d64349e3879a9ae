import CMPI
import Collectives
import Formatting
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// No silent hang: every collective of a watched communicator is bounded by `timeout` seconds
/// (`--collective-timeout`). A rank that stops making progress (stopped, hung in a file system,
/// cut off by a dead link) leaves the others waiting in their next collective; the first to pass
/// the timeout asks every rank, on a communicator of its own, who is still there; the ranks that
/// do not answer within `grace` are named with their hosts, by the lowest rank that answered, in one
/// message, and the job ends (`MPI_Abort`). A rank that hears the question while it waits joins in.
///
/// Every wait of the collectives is a test loop (`MPICommunicator.complete`), which checks the
/// deadline and the question: the ring's messages, the barrier before `MPI_Allreduce`, and the
/// nonblocking small collectives. What never returns to such a loop — the sum inside one
/// `MPI_Allreduce` (`--allreduce mpi`, or `auto`'s choice) when a rank stops or a link dies in the
/// middle of it — is ended by a thread that watches the time spent in the current collective:
/// past `timeout + grace + 15` s it says so on every rank still running, without naming the rank
/// it waits for (it cannot know it), and exits the process; mpirun then ends the job.
final class HangWatch: @unchecked Sendable {
    let timeout: Double
    let grace: Double
    /// Each rank's host, for the message.
    private let hosts: [String]
    private let rank: Int, size: Int
    private let world: MPI_Comm
    /// A duplicate of the world communicator: the question and the answers never mix with training's messages.
    private var questions: MPI_Comm?
    /// A receive posted in advance for the first question from any rank.
    private var incoming: MPI_Request? = nil
    private let incomingBuffer = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
    private static let tag: Int32 = 0x4857
    /// When the current collective began (ns on the monotonic clock), 0 outside collectives: for
    /// the watching thread.
    private let entered = Atomic<Int64>(0)
    /// What the job is doing ("step 120"), for the message; set by the training loop.
    private let activityLock = Mutex<String>("")

    /// Collective over `world`: duplicates it and gathers every rank's host name.
    init(world: MPICommunicator, timeout: Double, grace: Double = 10) throws {
        self.timeout = timeout
        self.grace = grace
        rank = world.rank
        size = world.size
        self.world = world.handle
        hosts = try world.allgather(try MPIRuntime.processorName())
        try check(MPI_Comm_dup(world.handle, &questions), "MPI_Comm_dup", rank: rank)
        try check(MPI_Comm_set_errhandler(questions, cmpi_errors_return()), "MPI_Comm_set_errhandler", rank: rank)
        try check(MPI_Irecv(incomingBuffer, 1, cmpi_int64(), cmpi_any_source(), Self.tag, questions, &incoming),
                  "MPI_Irecv", rank: rank)
        let thread = Thread { [self] in watchFromOutside() }
        thread.name = "collective watchdog"
        thread.start()
    }

    var activity: String {
        get { activityLock.withLock { $0 } }
        set { activityLock.withLock { $0 = newValue } }
    }

    /// A collective begins (`end` when it is done): the watching thread times it.
    func begin() { entered.store(Int64(monotonicNanoseconds()), ordering: .relaxed) }
    func end() { entered.store(0, ordering: .relaxed) }

    /// Called from a collective's wait loop: ends the job if the collective has run past the
    /// timeout, or if another rank asks who is there.
    func poll(since start: UInt64, in call: StaticString) {
        var heard: Int32 = 0
        _ = MPI_Test(&incoming, &heard, cmpi_status_ignore())
        let waited = Double(monotonicNanoseconds() &- start) / 1e9
        if heard != 0 || waited > timeout { fail(in: call, waited: waited, askedBy: heard != 0 ? Int(incomingBuffer.pointee) : nil) }
    }

    /// Asks every rank, collects the answers for `grace` seconds, lets the lowest rank that answered
    /// name the ranks that did not, and ends the job.
    private func fail(in call: StaticString, waited: Double, askedBy asker: Int?) -> Never {
        var answered = Set([rank])
        if let asker { answered.insert(asker) }
        let question = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        question.pointee = Int64(rank)
        var sends: [MPI_Request?] = []
        for other in 0 ..< size where other != rank {
            var request: MPI_Request? = nil
            if MPI_Isend(question, 1, cmpi_int64(), Int32(other), Self.tag, questions, &request) == cmpi_success() {
                sends.append(request)
            }
        }
        let deadline = monotonicNanoseconds() + UInt64(grace * 1e9)
        var heard: Int32 = 0
        while answered.count < size && monotonicNanoseconds() < deadline {
            _ = MPI_Test(&incoming, &heard, cmpi_status_ignore())
            if heard != 0 {
                answered.insert(Int(incomingBuffer.pointee))
                _ = MPI_Irecv(incomingBuffer, 1, cmpi_int64(), cmpi_any_source(), Self.tag, questions, &incoming)
                heard = 0
            } else {
                var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
                nanosleep(&pause, nil)
            }
        }
        let silent = (0 ..< size).filter { !answered.contains($0) }
        if rank == answered.min() {
            let during = activity.isEmpty ? "" : " during \(activity)"
            let bound = "--collective-timeout \(fixed(timeout, 0))"
            let message: String
            if silent.isEmpty {
                message = "no progress\(during): rank \(rank) (host \(hosts[rank])) waited \(fixed(waited, 0)) s in \(call) "
                    + "(\(bound)) although every rank answered. The job ends"
            } else {
                let named = silent.map { "rank \($0) (host \(hosts[$0]))" }.joined(separator: ", ")
                message = "\(named) made no progress\(during): the other ranks waited \(fixed(waited, 0)) s in \(call) "
                    + "(\(bound)) and \(silent.count == 1 ? "it" : "they") did not answer within \(fixed(grace, 0)) s: "
                    + "stopped, hung, or unreachable from rank \(rank) (host \(hosts[rank])). The job ends; a run "
                    + "continues from its last checkpoint with --resume"
            }
            StandardError.report(message)
        }
        fflush(nil)
        end()
        // MPI_Abort asks mpirun to end every rank; where mpirun cannot be reached (a dead link),
        // this rank still ends.
        let abortThread = Thread { [self] in _ = MPI_Abort(world, ExitStatus.failed.rawValue) }
        abortThread.start()
        var pause = timespec(tv_sec: 5, tv_nsec: 0)
        nanosleep(&pause, nil)
        _exit(ExitStatus.failed.rawValue)
    }

    /// The watching thread: a collective stuck inside one MPI call, beyond what the test loops can
    /// see, ends the process.
    private func watchFromOutside() {
        let limit = timeout + grace + 15
        while true {
            var pause = timespec(tv_sec: 1, tv_nsec: 0)
            nanosleep(&pause, nil)
            let since = entered.load(ordering: .relaxed)
            guard since != 0 else { continue }
            let waited = Double(Int64(monotonicNanoseconds()) - since) / 1e9
            if waited > limit {
                StandardError.report("rank \(rank) (host \(hosts[rank])): stuck inside MPI for \(fixed(waited, 0)) s"
                    + (activity.isEmpty ? "" : " (\(activity))") + " (--collective-timeout \(fixed(timeout, 0))): "
                    + "this rank ends, and with it the job")
                fflush(nil)
                _exit(ExitStatus.failed.rawValue)
            }
        }
    }
}

/// Nanoseconds on the monotonic clock.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

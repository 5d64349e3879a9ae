import Collectives
import Foundation

/// A thread that runs the jobs given to it one after the other, in the order they came: the
/// gradient all-reduces of a step, started while its backward goes on. One job runs at a time,
/// and the thread that gives the jobs makes no calls of its own on the communicator until it has
/// waited for them (`waitForAll`), so the communicator is used by one thread at a time (what
/// `MPI_THREAD_SERIALIZED` allows).
final class CommunicationThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() throws -> Void] = []
    private var submitted = 0, completed = 0
    private var failure: (any Error)?
    private var stopping = false
    /// The jobs wait patiently while backward runs, and without pause once `waitForAll` is called.
    let pace = Pace()

    init() {
        let thread = Thread { [self] in run() }
        thread.name = "gradient all-reduce"
        thread.start()
    }

    func submit(_ job: @escaping () throws -> Void) {
        condition.lock()
        jobs.append(job)
        submitted += 1
        condition.signal()
        condition.unlock()
    }

    /// Blocks until every job given so far has run; throws the first job's error, if any failed
    /// (the jobs after it are skipped).
    func waitForAll() throws {
        pace.hurry()
        condition.lock()
        while completed < submitted { condition.wait() }
        let error = failure
        failure = nil
        condition.unlock()
        if let error { throw error }
    }

    /// Ends the thread once its jobs are done.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            let skip = failure != nil
            condition.unlock()
            var error: (any Error)? = nil
            if !skip {
                do { try job() } catch let thrown { error = thrown }
            }
            condition.lock()
            if let error, failure == nil { failure = error }
            completed += 1
            condition.broadcast()
            condition.unlock()
        }
    }
}

import Collectives
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Signals that ask a run to stop without losing work (`--stop-signals`, default TERM and USR1:
/// what Slurm sends before a time limit or a preemption, and what mpirun forwards to its ranks).
///
/// The handler only records the signal. The ranks agree on it in the all-reduce every step
/// already makes (`DataParallelStep`'s totals), so all of them stop after the same step, however
/// many of them the signal reached; then they write a checkpoint and exit with status 75
/// (`ExitStatus.stopped`), saying how to continue.
public enum StopSignals {
    /// The last stop signal received (0: none). Initialised by `install` before any handler runs,
    /// and lock-free, so the handler may store into it.
    private static let received = Atomic<Int32>(0)

    /// The signals by name, as `--stop-signals` takes them.
    static let known: [String: Int32] = ["TERM": SIGTERM, "USR1": SIGUSR1, "USR2": SIGUSR2, "INT": SIGINT, "HUP": SIGHUP]

    /// "TERM,USR1" → the signals; "none" → none. Nil names the first name that is not a signal.
    static func parse(_ text: String) -> Result<[Int32], StopSignalsError> {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
        if names == ["NONE"] { return .success([]) }
        var signals: [Int32] = []
        for name in names {
            let bare = name.hasPrefix("SIG") ? String(name.dropFirst(3)) : name
            guard let signal = known[bare] else { return .failure(StopSignalsError(name: name)) }
            signals.append(signal)
        }
        return .success(signals)
    }

    /// Records `signals` from now on instead of their default action (ending the process), and
    /// unblocks them in the calling thread (a process may inherit a mask that blocks them).
    static func install(_ signals: [Int32]) {
        _ = received.load(ordering: .relaxed)
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        for signal in signals { sigaddset(&unblocked, signal) }
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in StopSignals.received.store(number, ordering: .relaxed) }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
    }

    /// The signal received since `install`, if any.
    static var pending: Int32? {
        let signal = received.load(ordering: .relaxed)
        return signal == 0 ? nil : signal
    }

    /// "SIGUSR1".
    static func name(_ signal: Int32) -> String {
        "SIG" + (known.first { $0.value == signal }?.key ?? "\(signal)")
    }
}

struct StopSignalsError: Error {
    let name: String
}

/// A run stopped by a stop signal after writing its checkpoint.
public struct TrainingStopped: CollectiveFailure, Sendable {
    public let description: String
    public var exitStatus: ExitStatus { .stopped }
}

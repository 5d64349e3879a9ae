import Synchronization

/// How a thread waits for the messages of a collective it has started.
///
/// A collective's messages move only while some thread of the rank asks the transport about them
/// (Open MPI progresses shared-memory and TCP messages inside its test and wait calls). Waiting
/// `busy`, the thread asks without pause: the lowest latency, and a core kept fully busy. That
/// is right when the waiting thread is the only one with work. The gradient all-reduce overlapped
/// with backward is not: its thread shares the cores with backward, and on a host whose ranks
/// fill the cores every poll is taken from a convolution (docs/SCALING.md, "Waiting on a core
/// that backward needs"). It waits `patient`: a short spin, then short sleeps between polls,
/// until the compute thread has nothing left to do but wait for it (`Pace.hurry()`), after which
/// it spins again.
public enum Waiting: Sendable {
    /// Poll without pause.
    case busy
    /// Poll with pauses while `pace` allows them.
    case patient(Pace)
}

/// Whether a patient waiter may pause between polls: set by the thread the waiter works for.
public final class Pace: Sendable {
    private let hurried = Atomic<Bool>(false)

    public init() {}

    /// The work the waiter overlaps with is done: poll without pause from now on.
    public func hurry() { hurried.store(true, ordering: .releasing) }

    /// New work to overlap with: pauses between polls are allowed again.
    public func relax() { hurried.store(false, ordering: .releasing) }

    /// Whether a waiter may pause now.
    public var allowsPauses: Bool { !hurried.load(ordering: .acquiring) }
}

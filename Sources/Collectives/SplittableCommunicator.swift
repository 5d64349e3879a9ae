/// A communicator that can form sub-communicators and wait for the other ranks without spinning:
/// what `bench scaling` needs to time rank 0 alone while the others leave it the machine.
public protocol SplittableCommunicator: Communicator {
    /// The ranks passing the same `color` form a new communicator, ordered by `key`; a rank
    /// passing nil gets nil back. Collective over this communicator.
    func split(color: Int?, key: Int) throws -> Self?

    /// A barrier that sleeps while it waits (a plain barrier may busy-poll, taking a core from the
    /// ranks that still work).
    func sleepingBarrier() throws
}

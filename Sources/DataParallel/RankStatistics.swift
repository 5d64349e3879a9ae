import Collectives
import Engine

/// The batch-norm running statistics of every rank: each rank keeps its own (its batch norm sees
/// only its own batch, and nothing all-reduces them); evaluation and checkpoints see their mean
/// over the ranks, and checkpoints store every rank's, so that a resumed run continues exactly.
///
/// A process playing one rank keeps that rank's statistics in the network. A process simulating K
/// ranks keeps each rank's aside and lends them to the network for that rank's part of a step.
public final class RankStatistics {
    let network: Network
    let world: any Communicator
    /// Ranks of the data layout: the job's, or the simulated ones.
    public let ranks: Int
    /// The ranks played in this process, in rank order.
    let hosted: [Int]
    /// Each hosted rank's statistics while the network holds another's (simulated ranks only).
    private var parked: [[Float]]

    var simulated: Bool { hosted.count > 1 }

    /// Every rank starts from the model's initial statistics.
    init(network: Network, communicator: any Communicator, hosted: [Int], ranks: Int) {
        self.network = network
        world = communicator
        self.hosted = hosted
        self.ranks = ranks
        parked = hosted.count > 1 ? hosted.map { _ in Array(network.parameters.statistics.buffer) } : []
    }

    /// Puts the `index`-th hosted rank's statistics into the network (simulated ranks).
    func lend(_ index: Int) {
        guard simulated else { return }
        let target = network.parameters.statistics
        parked[index].withUnsafeBufferPointer { target.pointer.update(from: $0.baseAddress!, count: target.count) }
    }

    /// Keeps what the `index`-th hosted rank's step left in the network (simulated ranks).
    func park(_ index: Int) {
        guard simulated else { return }
        parked[index] = Array(network.parameters.statistics.buffer)
    }

    /// Every rank's statistics, in rank order. Collective: ranks in other processes send theirs.
    public func everyRank() throws -> [[Float]] {
        if simulated { return parked }
        let own = Array(network.parameters.statistics.buffer)
        guard world.size > 1 else { return [own] }
        let count = own.count
        var gathered = [Float](repeating: 0, count: count * world.size)
        try own.withUnsafeBytes { send in try gathered.withUnsafeMutableBytes { try world.allgather(send, into: $0) } }
        return (0 ..< world.size).map { Array(gathered[$0 * count ..< ($0 + 1) * count]) }
    }

    /// Sets the statistics of the ranks played here from every rank's (in rank order, as
    /// `everyRank()` gives them; e.g. read from a checkpoint).
    public func restore(everyRank statistics: [[Float]]) {
        precondition(statistics.count == ranks, "restore: \(statistics.count) ranks' statistics for \(ranks) ranks")
        if simulated {
            parked = hosted.map { statistics[$0] }
        } else {
            let target = network.parameters.statistics
            statistics[hosted[0]].withUnsafeBufferPointer { target.pointer.update(from: $0.baseAddress!, count: target.count) }
        }
    }

    /// Runs `body` with the network holding the mean over ranks of the running statistics (what
    /// evaluation and checkpoints see: one model), then puts back what it held. Averaging does not
    /// change the ranks' own statistics, so the run's trajectory does not depend on when it
    /// evaluates or checkpoints. `body` gets every rank's statistics, in rank order. The mean is
    /// taken in Double in rank order: the same on every rank, and with simulated ranks.
    /// Collective.
    public func withMean<T>(_ body: ([[Float]]) throws -> T) throws -> T {
        let statistics = network.parameters.statistics
        let count = statistics.count
        let held = Array(statistics.buffer)
        let perRank = try everyRank()
        if count > 0 && perRank.count > 1 {
            for i in 0 ..< count {
                var sum = 0.0
                for r in perRank.indices { sum += Double(perRank[r][i]) }
                statistics[i] = Float(sum / Double(perRank.count))
            }
        }
        defer { held.withUnsafeBufferPointer { statistics.pointer.update(from: $0.baseAddress!, count: count) } }
        return try body(perRank)
    }
}

import Augmentation
import Collectives
import Engine
import Formatting

/// One step of data-parallel training with batch augmentation, as every rank takes it.
///
/// Each rank played by this process (one under `mpirun`; K with `--simulate-ranks K`) makes the
/// M augmented copies of its B/N samples, runs forward and backward in ghost batches of G and adds
/// its gradient into the flat buffer; the ranks all-reduce that buffer and every rank applies the
/// same SGD update to the mean over the effective batch M·B. The loss, the number correct and the
/// number of samples of the whole step are all-reduced too (three doubles): every rank needs
/// them to stop at the same step when the loss is not finite.
///
/// Shared by `Trainer` and the scaling benchmark, so that the benchmark times the step training runs.
public final class DataParallelStep {
    public let network: Network
    public let optimizer: SGD
    let world: any Communicator
    let algorithm: AllreduceAlgorithm
    let seed: UInt64
    /// Wait in a barrier before the gradient all-reduce and time the two apart: `waitSeconds` is
    /// then the time this rank waited for the slowest (load imbalance), `communicationSeconds` the
    /// all-reduce itself. Off in training (one synchronisation less); the scaling benchmark sets it.
    public var separatesWaiting = false
    private var images: [Float] = []
    private var labels: [Int32] = []

    public init(network: Network, optimizer: SGD, communicator: any Communicator, algorithm: AllreduceAlgorithm,
                seed: UInt64) {
        self.network = network
        self.optimizer = optimizer
        world = communicator
        self.algorithm = algorithm
        self.seed = seed
    }

    /// What one step measured, summed over the ranks where the name says so.
    public struct Outcome: Sendable {
        /// Summed over all ranks: loss, correct predictions and images.
        public var lossSum = 0.0, correct = 0.0, samples = 0.0
        public var gradientNorm: Float = 0
        /// This process's times: augmentation, forward+backward, the gradient all-reduce, the update.
        public var dataSeconds = 0.0, computeSeconds = 0.0, communicationSeconds = 0.0, updateSeconds = 0.0
        /// With `separatesWaiting`: time in the barrier before the all-reduce (0 otherwise; the
        /// waiting is then part of `communicationSeconds`).
        public var waitSeconds = 0.0
    }

    /// Takes step `step` of `epoch` (the `globalStep`-th of the run, which keys the dropout masks)
    /// for the ranks in `ranks`, each with `imagesPerRank` = M·B/N images.
    public func callAsFunction(ranks: [RankData], epoch: Int, step: Int, globalStep: Int, copies: Int, batchSize: Int,
                               imagesPerRank: Int, ghostBatchSize: Int,
                               hyperparameters: SGD.Hyperparameters) throws -> Outcome {
        let floats = imagesPerRank * network.inputShape.elements
        if images.count != floats { images = [Float](repeating: 0, count: floats) }
        if labels.count != imagesPerRank { labels = [Int32](repeating: 0, count: imagesPerRank) }
        let simulated = ranks.count > 1
        var outcome = Outcome()
        var local = [0.0, 0.0, 0.0]
        for (index, data) in ranks.enumerated() {
            if simulated { data.lendStatistics(to: network) }
            let dataStart = ContinuousClock.now
            images.withUnsafeMutableBufferPointer { x in
                labels.withUnsafeMutableBufferPointer { y in
                    data.augmenter.fill(images: x.baseAddress!, labels: y.baseAddress!,
                                        samples: data.sampler.samples(step: step), copies: copies, epoch: epoch)
                }
            }
            let computeStart = ContinuousClock.now
            outcome.dataSeconds += (computeStart - dataStart).seconds
            // Dropout masks are keyed by the image's row in the whole step's batch, so a simulated
            // rank draws the masks the real rank draws.
            let key = DropoutKey(seed: seed, step: UInt64(globalStep), firstRow: data.rank * imagesPerRank)
            let result = images.withUnsafeBufferPointer { x in
                labels.withUnsafeBufferPointer { y in
                    network.trainStep(images: x.baseAddress!, labels: y.baseAddress!, count: imagesPerRank,
                                      ghostBatchSize: ghostBatchSize, dropout: key, accumulate: index > 0)
                }
            }
            outcome.computeSeconds += (ContinuousClock.now - computeStart).seconds
            if simulated { data.takeStatistics(from: network) }
            local[0] += result.lossSum
            local[1] += Double(result.correct)
            local[2] += Double(result.samples)
        }
        if separatesWaiting && world.size > 1 {
            let waitStart = ContinuousClock.now
            try world.barrier()
            outcome.waitSeconds = (ContinuousClock.now - waitStart).seconds
        }
        let communicationStart = ContinuousClock.now
        if world.size > 1 {
            try world.allreduceSum(network.parameters.gradients.buffer, algorithm: algorithm)
        }
        let updateStart = ContinuousClock.now
        outcome.communicationSeconds = (updateStart - communicationStart).seconds
        outcome.gradientNorm = optimizer.step(network.parameters, hyperparameters,
                                              gradientScale: 1 / Float(copies * batchSize))
        outcome.updateSeconds = (ContinuousClock.now - updateStart).seconds
        if world.size > 1 { try world.allreduceSum(&local) }
        (outcome.lossSum, outcome.correct, outcome.samples) = (local[0], local[1], local[2])
        return outcome
    }
}

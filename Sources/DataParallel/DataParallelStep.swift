import Augmentation
import Collectives
import Engine
import Formatting

/// One step of data-parallel training with batch augmentation, as every rank takes it.
///
/// Each rank played by this process (one under `mpirun`; K with `--simulate-ranks K`) makes the
/// M augmented copies of its B/N samples and runs forward and backward in ghost batches of G; the
/// ranks' gradients are all-reduced and every rank applies the same SGD update to the mean over
/// the effective batch M·B. The loss, the number correct and the number of samples of the whole
/// step are all-reduced too (three doubles): every rank needs them to stop at the same step when
/// the loss is not finite.
///
/// Simulated ranks compute their gradients one after the other, each into a buffer of its own, and
/// add them up as the ring all-reduce of a K-rank job does (`RingAllreduce.sumInRingOrder`); with
/// their own running statistics and dropout masks, K simulated ranks take the step a K-rank job
/// takes with `--allreduce ring`, bit for bit.
///
/// Shared by `Trainer` and the scaling benchmark, so that the benchmark times the step training runs.
public final class DataParallelStep {
    public let network: Network
    public let optimizer: SGD
    /// The ranks this process plays, in rank order.
    public let ranks: [RankData]
    /// Their batch-norm running statistics.
    public let statistics: RankStatistics
    let world: any Communicator
    let algorithm: AllreduceAlgorithm
    let seed: UInt64
    /// Wait in a barrier before the gradient all-reduce and time the two apart: `waitSeconds` is
    /// then the time this rank waited for the slowest (load imbalance), `communicationSeconds` the
    /// all-reduce itself. Off in training (one synchronisation less); the scaling benchmark sets it.
    public var separatesWaiting = false
    private var images: [Float] = []
    private var labels: [Int32] = []
    /// Each simulated rank's gradient until they are summed (empty for one rank).
    private let rankGradients: [FloatBuffer]
    /// How the gradient is cut for the all-reduce (one bucket unless `useBuckets` cuts it).
    public private(set) var buckets: GradientBuckets
    /// The algorithm of each bucket.
    private var bucketAlgorithms: [AllreduceAlgorithm]
    /// With more than one bucket between real ranks: the thread that all-reduces the buckets
    /// while backward goes on.
    private var communication: CommunicationThread?
    /// Per bucket in this step: the nodes yet to finish writing into it, the seconds its all-reduce took.
    private var pendingWriters: [Int] = []
    private var bucketSeconds = UnsafeMutableBufferPointer<Double>.allocate(capacity: 0)

    public init(network: Network, optimizer: SGD, ranks: [RankData], communicator: any Communicator,
                algorithm: AllreduceAlgorithm, seed: UInt64) {
        precondition(!ranks.isEmpty && (ranks.count == 1 || communicator.size == 1),
                     "a process plays one rank of a job, or simulates all of them alone")
        self.network = network
        self.optimizer = optimizer
        self.ranks = ranks
        world = communicator
        self.algorithm = algorithm
        self.seed = seed
        statistics = RankStatistics(network: network, communicator: communicator, hosted: ranks.map(\.rank),
                                    ranks: ranks[0].ranks)
        let simulated = ranks.count > 1
        rankGradients = simulated ? ranks.map { _ in FloatBuffer(count: network.parameters.count) } : []
        buckets = GradientBuckets(gradientRanges: network.gradientRanges, count: network.parameters.count, bucketBytes: 0)
        bucketAlgorithms = buckets.ranges.map { _ in algorithm }
    }

    deinit {
        communication?.stop()
        bucketSeconds.deallocate()
    }

    /// Cuts the gradient into buckets of at least `bytes` (`GradientBuckets`; 0: one bucket), each
    /// all-reduced with `algorithm(count)` for its `count` floats. Between real ranks whose
    /// communicator may be called from another thread, more than one bucket overlaps the
    /// all-reduce with backward; simulated ranks add up each bucket as the ring would.
    public func useBuckets(bytes: Int, algorithm: (Int) -> AllreduceAlgorithm) {
        buckets = GradientBuckets(gradientRanges: network.gradientRanges, count: network.parameters.count,
                                  bucketBytes: bytes)
        bucketAlgorithms = buckets.ranges.map { algorithm($0.count) }
        bucketSeconds.deallocate()
        bucketSeconds = .allocate(capacity: buckets.count)
        bucketSeconds.initialize(repeating: 0)
        communication?.stop()
        let overlaps = buckets.count > 1 && world.size > 1 && ranks.count == 1 && world.allowsCallsFromAnotherThread
        communication = overlaps ? CommunicationThread() : nil
    }

    /// Whether the all-reduce runs during backward (more than one bucket, on a thread of its own).
    public var overlapsCommunication: Bool { communication != nil }

    /// What one step measured, summed over the ranks where the name says so.
    public struct Outcome: Sendable {
        /// Summed over all ranks: loss, correct predictions and images.
        public var lossSum = 0.0, correct = 0.0, samples = 0.0
        public var gradientNorm: Float = 0
        /// This process's times: augmentation, forward+backward, the gradient all-reduce (with
        /// buckets, the sum of their all-reduces, overlapped with backward), the update.
        public var dataSeconds = 0.0, computeSeconds = 0.0, communicationSeconds = 0.0, updateSeconds = 0.0
        /// The time the step waited for the gradient all-reduce after its backward finished: all
        /// of the all-reduce with one bucket, what backward did not hide with several.
        public var exposedCommunicationSeconds = 0.0
        /// With `separatesWaiting`: time in the barrier before the all-reduce (0 otherwise; the
        /// waiting is then part of `communicationSeconds`).
        public var waitSeconds = 0.0
    }

    /// Takes step `step` of `epoch` (the `globalStep`-th of the run, which keys the dropout masks),
    /// each rank with `imagesPerRank` = M·B/N images: the gradient (`computeGradient`), then the SGD
    /// update of the mean over the effective batch M·B.
    public func callAsFunction(epoch: Int, step: Int, globalStep: Int, copies: Int, batchSize: Int,
                               imagesPerRank: Int, ghostBatchSize: Int,
                               hyperparameters: SGD.Hyperparameters) throws -> Outcome {
        var (outcome, local) = try computeGradient(epoch: epoch, step: step, globalStep: globalStep, copies: copies,
                                                   imagesPerRank: imagesPerRank, ghostBatchSize: ghostBatchSize)
        let updateStart = ContinuousClock.now
        outcome.gradientNorm = optimizer.step(network.parameters, hyperparameters,
                                              gradientScale: 1 / Float(copies * batchSize))
        outcome.updateSeconds = (ContinuousClock.now - updateStart).seconds
        if world.size > 1 { try world.allreduceSum(&local) }
        (outcome.lossSum, outcome.correct, outcome.samples) = (local[0], local[1], local[2])
        return outcome
    }

    /// The step without the update: each rank played here makes its M copies and runs forward and
    /// backward in ghost batches, and the ranks' gradients are summed, which is left in
    /// `network.parameters.gradients` as the sum over the whole step's M·B images. Returns the
    /// timings and this process's own [loss sum, correct, images] (not yet summed over ranks).
    /// The gradient-norm study measures steps this way at fixed parameters.
    public func computeGradient(epoch: Int, step: Int, globalStep: Int, copies: Int, imagesPerRank: Int,
                                ghostBatchSize: Int) throws -> (Outcome, [Double]) {
        let floats = imagesPerRank * network.inputShape.elements
        if images.count != floats { images = [Float](repeating: 0, count: floats) }
        if labels.count != imagesPerRank { labels = [Int32](repeating: 0, count: imagesPerRank) }
        let gradients = network.parameters.gradients
        var outcome = Outcome()
        var local = [0.0, 0.0, 0.0]
        if communication != nil {
            pendingWriters = buckets.writers
            for b in bucketSeconds.indices { bucketSeconds[b] = 0 }
        }
        let gradientsFinal: ((Int) -> Void)? = communication == nil ? nil : { [unowned self] in self.nodeFinished($0) }
        for (index, data) in ranks.enumerated() {
            statistics.lend(index)
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
                                      ghostBatchSize: ghostBatchSize, dropout: key, gradientsFinal: gradientsFinal)
                }
            }
            outcome.computeSeconds += (ContinuousClock.now - computeStart).seconds
            statistics.park(index)
            if !rankGradients.isEmpty { rankGradients[index].pointer.update(from: gradients.pointer, count: gradients.count) }
            local[0] += result.lossSum
            local[1] += Double(result.correct)
            local[2] += Double(result.samples)
        }
        if let communication {
            // The buckets were started during backward; what is left is exposed.
            let waitStart = ContinuousClock.now
            try communication.waitForAll()
            outcome.exposedCommunicationSeconds = (ContinuousClock.now - waitStart).seconds
            outcome.communicationSeconds = bucketSeconds.reduce(0, +)
            return (outcome, local)
        }
        if separatesWaiting && world.size > 1 {
            let waitStart = ContinuousClock.now
            try world.barrier()
            outcome.waitSeconds = (ContinuousClock.now - waitStart).seconds
        }
        let communicationStart = ContinuousClock.now
        for (b, range) in buckets.ranges.enumerated() {
            let bucket = UnsafeMutableBufferPointer(rebasing: gradients.buffer[range])
            if !rankGradients.isEmpty {
                RingAllreduce.sumInRingOrder(rankGradients.map { UnsafeBufferPointer(rebasing: $0.buffer[range]) },
                                             into: bucket)
            } else if world.size > 1 {
                try world.allreduceSum(bucket, algorithm: bucketAlgorithms[b])
            }
        }
        outcome.communicationSeconds = (ContinuousClock.now - communicationStart).seconds
        outcome.exposedCommunicationSeconds = outcome.communicationSeconds
        return (outcome, local)
    }

    /// Node `node` has finished its backward for the step: the buckets it was the last writer of
    /// go to the communication thread, in the order they become ready (the same on every rank).
    private func nodeFinished(_ node: Int) {
        guard let communication else { return }
        for b in buckets.bucketsOfNode[node] {
            pendingWriters[b] -= 1
            guard pendingWriters[b] == 0 else { continue }
            let bucket = UnsafeMutableBufferPointer(rebasing: network.parameters.gradients.buffer[buckets.ranges[b]])
            let world = world, algorithm = bucketAlgorithms[b], seconds = bucketSeconds
            communication.submit {
                let start = ContinuousClock.now
                try world.allreduceSum(bucket, algorithm: algorithm)
                seconds[b] = (ContinuousClock.now - start).seconds
            }
        }
    }
}

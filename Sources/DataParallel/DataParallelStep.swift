import Augmentation
import Collectives
import Engine
import Formatting

/// One step of data-parallel training with batch augmentation, as every rank takes it.
///
/// Each rank played by this process (one under `mpirun`; K with `--simulate-ranks K`) makes the
/// M augmented copies of its B/N samples and runs forward and backward in ghost batches of G; the
/// ranks' gradients are summed (`GradientReduction`: buckets, their algorithms, overlap) and every
/// rank applies the same SGD update to the mean over the effective batch M·B. The loss, the number
/// correct and the number of samples of the whole step are summed over the ranks too, with the
/// step's timings: every rank needs them to stop at the same step when the loss is not finite, and
/// to decide alike whether overlap pays.
///
/// A step is four phases, which `callAsFunction` takes in turn: `computeLocalGradient` (augment,
/// forward and backward; overlapped buckets start as backward finishes their layers),
/// `reduceGradient`, `update` and `sumOverRanks`. The gradient-norm study stops after the second;
/// the scaling benchmark times a barrier between the first two.
///
/// Simulated ranks compute their gradients one after the other, each into a buffer of its own, and
/// add them up as the ring all-reduce of a K-rank job does (`RingAllreduce.sumInRingOrder`), bucket
/// by bucket; with their own running statistics and dropout masks, K simulated ranks take the step
/// a K-rank job takes with `--allreduce ring`, bit for bit.
///
/// Shared by `Trainer`, the scaling benchmark and the gradient-norm probe, so that they all time and
/// measure the step training runs.
public final class DataParallelStep {
    public let network: Network
    public let optimizer: SGD
    /// The ranks this process plays, in rank order.
    public let ranks: [RankData]
    /// Their batch-norm running statistics.
    public let statistics: RankStatistics
    public let reduction: GradientReduction
    let world: any Communicator
    let seed: UInt64
    private var images: [Float] = []
    private var labels: [Int32] = []
    /// Each simulated rank's gradient until they are summed (empty for one rank).
    private let rankGradients: [FloatBuffer]
    /// While overlapping: the thread that all-reduces the buckets during backward.
    private var communication: CommunicationThread?
    /// Whether overlap may be used at all here: more than one bucket, real ranks, and a
    /// communicator that may be called from a second thread.
    private let overlapPossible: Bool
    /// Steps summed over ranks so far (`overlap auto` decides after `decisionStep` of them).
    private var stepsTaken = 0
    /// Per bucket in this step: the nodes yet to finish writing into it, the seconds its all-reduce took.
    private var pendingWriters: [Int] = []
    private let bucketSeconds: UnsafeMutableBufferPointer<Double>

    /// `overlap auto` decides from this step of the process (counting from 0): the first pays for
    /// first touches of memory and connections opened on first use.
    static let decisionStep = 1

    public init(network: Network, optimizer: SGD, ranks: [RankData], communicator: any Communicator,
                reduction: GradientReduction, seed: UInt64) {
        precondition(!ranks.isEmpty && (ranks.count == 1 || communicator.size == 1),
                     "a process plays one rank of a job, or simulates all of them alone")
        precondition(reduction.buckets.ranges.reduce(0) { $0 + $1.count } == network.parameters.count,
                     "the buckets cover the gradient")
        self.network = network
        self.optimizer = optimizer
        self.ranks = ranks
        world = communicator
        self.reduction = reduction
        self.seed = seed
        statistics = RankStatistics(network: network, communicator: communicator, hosted: ranks.map(\.rank),
                                    ranks: ranks[0].ranks)
        rankGradients = ranks.count > 1 ? ranks.map { _ in FloatBuffer(count: network.parameters.count) } : []
        bucketSeconds = .allocate(capacity: reduction.buckets.count)
        bucketSeconds.initialize(repeating: 0)
        overlapPossible = reduction.buckets.count > 1 && communicator.size > 1 && ranks.count == 1
            && communicator.allowsCallsFromAnotherThread
        if overlapPossible && reduction.overlap == .on { communication = CommunicationThread() }
    }

    deinit {
        communication?.stop()
        bucketSeconds.deallocate()
    }

    /// Whether the buckets are all-reduced during backward now (with `overlap auto`, from the
    /// step after the decision).
    public var overlapsCommunication: Bool { communication != nil }

    /// Why the buckets are all-reduced when they are, for people: "during backward", "after
    /// backward (MPI allows no second thread)", …
    public var overlapDescription: String {
        if reduction.buckets.count == 1 || world.size == 1 || ranks.count > 1 { return "after backward" }
        if !overlapPossible { return "after backward (MPI allows no second thread)" }
        switch reduction.overlap {
        case .on: return "during backward"
        case .off: return "after backward (--overlap off)"
        case .auto:
            return stepsTaken > Self.decisionStep
                ? (communication != nil ? "during backward (overlap auto)" : "after backward (overlap auto)")
                : "after backward until overlap auto has measured a step"
        }
    }

    /// Loss, correct predictions and images of a step: of the ranks this process plays until
    /// `sumOverRanks`, of all ranks after it.
    public struct Totals: Sendable, Equatable {
        public var lossSum = 0.0, correct = 0.0, samples = 0.0
    }

    /// What one step measured.
    public struct Outcome: Sendable {
        public var totals = Totals()
        public var gradientNorm: Float = 0
        /// This process's times: augmentation, forward+backward, the gradient all-reduce (with
        /// overlap, the sum of the buckets' all-reduces, which ran during backward), the update.
        public var dataSeconds = 0.0, computeSeconds = 0.0, communicationSeconds = 0.0, updateSeconds = 0.0
        /// The time the step waited for the gradient all-reduce after its backward finished: all
        /// of the all-reduce without overlap, what backward did not hide with it.
        public var exposedCommunicationSeconds = 0.0
        /// Set on the step on which `overlap auto` decided.
        public var overlapDecision: OverlapDecision?
        /// Whether this rank asks the job to stop after this step (set before `sumOverRanks`), and
        /// after it, whether any rank did: every rank then stops after the same step.
        public var stopRequested = false
    }

    /// Takes step `step` of `epoch` (the `globalStep`-th of the run, which keys the dropout masks),
    /// each rank with `imagesPerRank` = M·B/N images: the gradient, its sum over the ranks, the SGD
    /// update of the mean over the effective batch M·B, and the step's totals over the ranks.
    /// `requestsStop`: this rank asks the job to stop after the step (`Outcome.stopRequested`).
    public func callAsFunction(epoch: Int, step: Int, globalStep: Int, copies: Int, batchSize: Int,
                               imagesPerRank: Int, ghostBatchSize: Int, hyperparameters: SGD.Hyperparameters,
                               requestsStop: Bool = false) throws -> Outcome {
        var outcome = try computeGradient(epoch: epoch, step: step, globalStep: globalStep, copies: copies,
                                          imagesPerRank: imagesPerRank, ghostBatchSize: ghostBatchSize)
        update(&outcome, copies: copies, batchSize: batchSize, hyperparameters: hyperparameters)
        outcome.stopRequested = requestsStop
        try sumOverRanks(&outcome)
        return outcome
    }

    /// The step without the update: the gradient summed over the ranks is left in
    /// `network.parameters.gradients` (the sum over the whole step's M·B images); the totals are
    /// this process's own. The gradient-norm study measures steps this way at fixed parameters.
    public func computeGradient(epoch: Int, step: Int, globalStep: Int, copies: Int, imagesPerRank: Int,
                                ghostBatchSize: Int) throws -> Outcome {
        var outcome = try computeLocalGradient(epoch: epoch, step: step, globalStep: globalStep, copies: copies,
                                               imagesPerRank: imagesPerRank, ghostBatchSize: ghostBatchSize)
        try reduceGradient(&outcome)
        return outcome
    }

    // MARK: - The phases

    /// Phase 1: each rank played here makes its M copies and runs forward and backward in ghost
    /// batches. While overlapping, each bucket is handed to the communication thread as soon as
    /// backward has finished the layers that write into it.
    public func computeLocalGradient(epoch: Int, step: Int, globalStep: Int, copies: Int, imagesPerRank: Int,
                                     ghostBatchSize: Int) throws -> Outcome {
        let floats = imagesPerRank * network.inputShape.elements
        if images.count != floats { images = [Float](repeating: 0, count: floats) }
        if labels.count != imagesPerRank { labels = [Int32](repeating: 0, count: imagesPerRank) }
        let gradients = network.parameters.gradients
        var outcome = Outcome()
        if let communication {
            pendingWriters = reduction.buckets.writers
            for b in bucketSeconds.indices { bucketSeconds[b] = 0 }
            communication.pace.relax()
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
            outcome.totals.lossSum += result.lossSum
            outcome.totals.correct += Double(result.correct)
            outcome.totals.samples += Double(result.samples)
        }
        return outcome
    }

    /// Phase 2: the gradient summed over the ranks, in `network.parameters.gradients`.
    public func reduceGradient(_ outcome: inout Outcome) throws {
        if !rankGradients.isEmpty {
            sumSimulatedRanks()
        } else if communication != nil {
            try waitForOverlappedBuckets(&outcome)
        } else if world.size > 1 {
            try allreduceAfterBackward(&outcome)
        }
    }

    /// Phase 3: the SGD update with the gradient scaled to the mean over the effective batch M·B.
    public func update(_ outcome: inout Outcome, copies: Int, batchSize: Int, hyperparameters: SGD.Hyperparameters) {
        let start = ContinuousClock.now
        outcome.gradientNorm = optimizer.step(network.parameters, hyperparameters,
                                              gradientScale: 1 / Float(copies * batchSize))
        outcome.updateSeconds = (ContinuousClock.now - start).seconds
    }

    /// Phase 4: the totals summed over the ranks, with the forward/backward and all-reduce seconds
    /// from which `overlap auto` decides and the ranks asking to stop (one all-reduce of six
    /// doubles, so every rank holds the same sums and decides alike).
    public func sumOverRanks(_ outcome: inout Outcome) throws {
        defer { stepsTaken += 1 }
        guard world.size > 1 else { return }
        var sums = [outcome.totals.lossSum, outcome.totals.correct, outcome.totals.samples,
                    outcome.computeSeconds, outcome.communicationSeconds, outcome.stopRequested ? 1 : 0]
        try world.allreduceSum(&sums)
        outcome.totals = Totals(lossSum: sums[0], correct: sums[1], samples: sums[2])
        outcome.stopRequested = sums[5] > 0
        if reduction.overlap == .auto && overlapPossible && stepsTaken == Self.decisionStep {
            let ranks = Double(world.size)
            let decision = OverlapDecision(
                overlaps: GradientReduction.overlapPays(allreduceSeconds: sums[4], computeSeconds: sums[3]),
                allreduceSeconds: sums[4] / ranks, computeSeconds: sums[3] / ranks)
            if decision.overlaps { communication = CommunicationThread() }
            outcome.overlapDecision = decision
        }
    }

    // MARK: - The three ways of summing the gradient

    /// Simulated ranks: each bucket added up in the ring's order from the ranks' own gradients.
    private func sumSimulatedRanks() {
        let gradients = network.parameters.gradients
        for range in reduction.buckets.ranges {
            RingAllreduce.sumInRingOrder(rankGradients.map { UnsafeBufferPointer(rebasing: $0.buffer[range]) },
                                         into: UnsafeMutableBufferPointer(rebasing: gradients.buffer[range]))
        }
    }

    /// Real ranks without overlap: the buckets one after the other, after backward.
    private func allreduceAfterBackward(_ outcome: inout Outcome) throws {
        let gradients = network.parameters.gradients
        let start = ContinuousClock.now
        for (b, range) in reduction.buckets.ranges.enumerated() {
            try world.allreduceSum(UnsafeMutableBufferPointer(rebasing: gradients.buffer[range]),
                                   algorithm: reduction.algorithms[b])
        }
        outcome.communicationSeconds = (ContinuousClock.now - start).seconds
        outcome.exposedCommunicationSeconds = outcome.communicationSeconds
    }

    /// Real ranks with overlap: the buckets were started during backward; what is left is exposed.
    private func waitForOverlappedBuckets(_ outcome: inout Outcome) throws {
        let start = ContinuousClock.now
        try communication!.waitForAll()
        outcome.exposedCommunicationSeconds = (ContinuousClock.now - start).seconds
        outcome.communicationSeconds = bucketSeconds.reduce(0, +)
    }

    /// Node `node` has finished its backward for the step: the buckets it was the last writer of
    /// go to the communication thread, in the order they become ready (the same on every rank).
    private func nodeFinished(_ node: Int) {
        guard let communication else { return }
        for b in reduction.buckets.bucketsOfNode[node] {
            pendingWriters[b] -= 1
            guard pendingWriters[b] == 0 else { continue }
            let bucket = UnsafeMutableBufferPointer(rebasing: network.parameters.gradients.buffer[reduction.buckets.ranges[b]])
            let world = world, algorithm = reduction.algorithms[b], seconds = bucketSeconds
            let waiting = Waiting.patient(communication.pace)
            communication.submit {
                let start = ContinuousClock.now
                try world.allreduceSum(bucket, algorithm: algorithm, waiting: waiting)
                seconds[b] = (ContinuousClock.now - start).seconds
            }
        }
    }
}

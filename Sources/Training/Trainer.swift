import Augmentation
import Checkpoints
import Collectives
import Datasets
import Engine
import Foundation
import Schedules

/// Facts about the job recorded in config.json (versions, hosts) — gathered by the caller, which
/// knows about MPI and OpenBLAS.
public struct JobDescription: Sendable {
    public var version: String
    public var mpi: String
    public var blas: String
    public var hosts: [String]
    public init(version: String, mpi: String, blas: String, hosts: [String]) {
        self.version = version
        self.mpi = mpi
        self.blas = blas
        self.hosts = hosts
    }
}

/// How a run ended, for the caller and for tests.
public struct TrainingSummary: Sendable {
    public var epochs: [EpochRecord]
    public var steps: Int
    /// FNV-1a of the final parameters (identical on every rank).
    public var parameterChecksum: UInt64
    public var output: String?
    public var parameters: [Float]
}

/// A problem that stops every rank of the job together (see `CollectiveFailure`).
public struct TrainingFailure: CollectiveFailure, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Distributed data-parallel training with batch augmentation.
///
/// Per step, each rank r takes its B/N samples of the step, makes M augmented copies of each
/// (copy-major), runs forward and backward over those M·B/N images in ghost batches of G, and
/// holds the sum of its gradients. The ranks all-reduce that sum (ring by default) and every rank
/// applies the same SGD update with the gradient scaled by 1/(M·B): the mean over the whole
/// effective batch. Parameters start from rank 0's; batch-norm running statistics are averaged over
/// ranks before every evaluation and checkpoint; the ranks compare parameter checksums after every
/// epoch. `--simulate-ranks K` runs the K ranks' data, ghost batches and running statistics one
/// after the other in one process, summing their gradients in place of the all-reduce.
public final class Trainer {
    let plan: RunPlan
    let world: any Communicator
    let job: JobDescription
    let console: Console
    let network: Network
    let optimizer: SGD
    let stepper: DataParallelStep
    let ranksHere: [RankData]
    let counters = IOCounters()
    /// The output directory — on rank 0 only, the rank that writes. Decisions every rank must take
    /// alike read `configuration.output`.
    let output: URL?
    private var metrics: MetricsFiles?
    private var startEpoch = 0
    /// Steps of `startEpoch` already taken (a run stopped by --max-steps inside an epoch).
    private var startStep = 0
    private var globalStep = 0
    /// The step count so far (for checkpoints).
    var globalStepCount: Int { globalStep }
    /// Where a restored run continues: (epochs already completed, steps already taken).
    var resumePosition: (epochs: Int, stepInEpoch: Int, steps: Int) {
        get { (startEpoch, startStep, globalStep) }
        set { (startEpoch, startStep, globalStep) = newValue }
    }
    private var records: [EpochRecord] = []

    public var configuration: TrainingConfiguration { plan.configuration }

    /// For tests of the replica check: after the run's first step, this rank nudges one parameter,
    /// as a broken node would; the end-of-epoch checksum comparison must stop the job naming it.
    public var debugPerturbRank: Int? = nil

    /// Prepares the run on every rank: checks the configuration, loads each rank's shards, builds
    /// the model (rank 0's parameters everywhere), restores a checkpoint, opens the output. Any
    /// failure on any rank stops all ranks with one message.
    public init(configuration: TrainingConfiguration, communicator: any Communicator, job: JobDescription,
                resumeFrom checkpoint: Checkpoint? = nil) throws {
        world = communicator
        self.job = job
        console = Console(enabled: communicator.isRoot)
        do {
            plan = try RunPlan(configuration, worldSize: communicator.size)
        } catch let error as ConfigurationError {
            throw TrainingFailure(error.description)
        }
        let hosted = plan.simulated ? Array(0 ..< plan.ranks) : [communicator.rank]

        // Data: rank-local failures (a file missing on one node) are agreed on, not left hanging.
        var loaded: [RankData] = []
        var dataError: String? = nil
        do {
            let perRank = plan.batchPerRank(epoch: 0)
            for r in hosted {
                loaded.append(try RankData(rank: r, ranks: plan.ranks, dataset: plan.dataset,
                                           directory: configuration.dataDirectory, transforms: plan.transforms,
                                           batchPerRank: perRank, seed: configuration.seed,
                                           trainSamples: configuration.trainSamples, counters: counters))
            }
        } catch {
            dataError = "\(error)"
        }
        try Self.agree(dataError, on: communicator)
        ranksHere = loaded

        network = try loaded[0].makeNetwork(configuration)
        optimizer = SGD(parameters: network.parameters)
        // Every (simulated) rank starts from the model's initial running statistics.
        for data in loaded { data.statistics = Array(network.parameters.statistics.buffer) }
        stepper = DataParallelStep(network: network, optimizer: optimizer, communicator: communicator,
                                   algorithm: plan.allreduce, seed: configuration.seed)
        try communicator.broadcast(UnsafeMutableRawBufferPointer(network.parameters.values.buffer), root: 0)

        // Output directory (rank 0 writes; everyone learns whether it worked).
        var outputError: String? = nil
        var outputURL: URL? = nil
        if communicator.isRoot, let path = configuration.output {
            do {
                outputURL = try Self.prepareOutput(path, resuming: configuration.resume != nil)
            } catch {
                outputError = "\(error)"
            }
        }
        try Self.agree(outputError, on: communicator)
        output = outputURL

        if configuration.resume != nil {
            try restore(checkpoint)
        }
        if let outputURL {
            // Rows of epochs from the one resumed on are written again (a partial epoch's row too).
            let resumedThrough = configuration.resume != nil ? startEpoch - 1 : nil
            do {
                metrics = try MetricsFiles(directory: outputURL, resumingAfter: resumedThrough)
                try writeConfiguration(to: outputURL)
                metrics?.views = LiveViews(directory: outputURL, resumedAt: configuration.resume != nil ? (globalStep, startStep > 0) : nil)
            } catch {
                outputError = "cannot write to \(outputURL.path): \(error.localizedDescription)"
            }
        }
        try Self.agree(outputError, on: communicator)
    }

    /// Runs the remaining epochs; returns the per-epoch figures.
    public func run() throws -> TrainingSummary {
        let c = configuration
        let totalEpochs = plan.epochs
        describeRun()
        let runStart = monotonicSeconds()
        var stopped = false
        for epoch in startEpoch ..< totalEpochs where !stopped {
            let settings = plan.settings(epoch: epoch)
            let perRank = plan.batchPerRank(epoch: epoch)
            let imagesPerRank = plan.imagesPerRank(epoch: epoch)
            let ghost = plan.ghostBatchSize(epoch: epoch)
            var steps = 0
            var planError: String? = nil
            do {
                for data in ranksHere { steps = try data.prepare(batchPerRank: perRank) }
            } catch {
                planError = "\(error)"
            }
            try Self.agree(planError, on: world)
            for data in ranksHere { data.begin(epoch: epoch) }
            // A run resumed inside an epoch continues it at the step where it stopped: the epoch's
            // order, the augmentations and the dropout masks are all functions of the position.
            let firstStep = epoch == startEpoch ? min(startStep, steps) : 0

            let epochStart = monotonicSeconds()
            var epochTotals = Totals()
            var interval = Totals()
            var lastLearningRate = 0.0
            var step = firstStep - 1
            while step + 1 < steps {
                step += 1
                let lr = plan.schedule.learningRate(epoch: epoch, step: step, stepsPerEpoch: steps)
                lastLearningRate = lr
                let stepStart = monotonicSeconds()
                let hyper = SGD.Hyperparameters(learningRate: Float(lr), momentum: Float(settings.momentum),
                                                weightDecay: Float(settings.weightDecay), nesterov: c.nesterov,
                                                clipNorm: c.gradientClip.map(Float.init))
                let outcome = try stepper(ranks: ranksHere, epoch: epoch, step: step, globalStep: globalStep,
                                          copies: settings.copies, batchSize: settings.batchSize,
                                          imagesPerRank: imagesPerRank, ghostBatchSize: ghost, hyperparameters: hyper)
                globalStep += 1
                if globalStep == 1, debugPerturbRank == world.rank { network.parameters.values[0] += 1e-3 }
                guard outcome.lossSum.isFinite && outcome.gradientNorm.isFinite else {
                    let what = outcome.lossSum.isFinite
                        ? "the gradient norm became \(outcome.gradientNorm) (loss \(outcome.lossSum / max(outcome.samples, 1)))"
                        : "the loss became \(outcome.lossSum)"
                    throw TrainingFailure("\(what) at step \(globalStep) (epoch \(epoch), step \(step + 1) of \(steps)); "
                        + "stopped without writing a checkpoint: " + lastGoodState())
                }
                var stepTotals = Totals()
                (stepTotals.loss, stepTotals.correct, stepTotals.samples) = (outcome.lossSum, outcome.correct, outcome.samples)
                stepTotals.dataSeconds = outcome.dataSeconds
                stepTotals.communicationSeconds = outcome.communicationSeconds
                stepTotals.gradientNorm = Double(outcome.gradientNorm)
                stepTotals.steps = 1
                stepTotals.seconds = monotonicSeconds() - stepStart
                stepTotals.images = Double(settings.copies * settings.batchSize)
                epochTotals.add(stepTotals)
                interval.add(stepTotals)
                console.progress(epoch: epoch, step: step + 1, steps: steps)
                let reachedLimit = c.maxSteps.map { globalStep >= $0 } ?? false
                if (step + 1) % c.logEvery == 0 || step + 1 == steps || reachedLimit {
                    try logInterval(interval, epoch: epoch, step: step + 1, steps: steps, learningRate: lr,
                                    elapsed: monotonicSeconds() - runStart, remainingSteps: (steps - step - 1) + (totalEpochs - epoch - 1) * steps)
                    interval = Totals()
                }
                if reachedLimit {
                    stopped = true
                    break
                }
            }
            try finishEpoch(epoch, totals: epochTotals, seconds: monotonicSeconds() - epochStart, learningRate: lastLearningRate,
                            settings: settings, last: epoch == totalEpochs - 1 || stopped,
                            stepsDone: step + 1, steps: steps)
        }
        if stopped { console.line("stopped after \(globalStep) steps (--max-steps)") }
        return TrainingSummary(epochs: records, steps: globalStep, parameterChecksum: network.parameters.checksum(),
                               output: output?.path, parameters: Array(network.parameters.values.buffer))
    }

    // MARK: - Epoch end

    private func finishEpoch(_ epoch: Int, totals: Totals, seconds: Double, learningRate: Double,
                             settings: EpochSettings, last: Bool, stepsDone: Int, steps: Int) throws {
        let c = configuration
        // Replicas must be identical; a difference is a bug or a broken node, not something to train through.
        let checksums = try world.allgather(network.parameters.checksum())
        if let differing = checksums.firstIndex(where: { $0 != checksums[0] }) {
            throw TrainingFailure("after epoch \(epoch) the parameters of rank \(differing) differ from rank 0's "
                + "(checksums \(String(checksums[differing], radix: 16)) vs \(String(checksums[0], radix: 16)))")
        }
        let evaluate = last || (c.evalEvery > 0 && (epoch + 1) % c.evalEvery == 0)
        // Decided from the configuration, which every rank holds; `output` exists on rank 0 only, and a
        // decision taken from it would leave the other ranks out of the collectives below.
        let checkpoint = c.output != nil && (last || (c.checkpointEvery > 0 && (epoch + 1) % c.checkpointEvery == 0))
        var validation: (loss: Double, error: Double)? = nil
        if evaluate { validation = try withAveragedStatistics { _ in try self.evaluate() } }
        let record = EpochRecord(
            epoch: epoch, step: globalStep, learningRate: learningRate, batchSize: settings.batchSize,
            copies: settings.copies, trainLoss: totals.loss / max(totals.samples, 1),
            trainError: 1 - totals.correct / max(totals.samples, 1), validationLoss: validation?.loss,
            validationError: validation?.error, gradientNorm: totals.gradientNorm / Double(max(totals.steps, 1)),
            epochSeconds: seconds, imagesPerSecond: totals.images / max(seconds, 1e-9),
            communicationSeconds: totals.communicationSeconds, dataSeconds: totals.dataSeconds)
        records.append(record)
        try metrics?.write(record)
        var summary = "epoch \(epoch) done: train loss \(fixed(record.trainLoss, 4)) error \(percent(record.trainError))"
        if let validation { summary += ", test loss \(fixed(validation.loss, 4)) error \(percent(validation.error))" }
        summary += ", \(fixed(record.imagesPerSecond, 0)) img/s, \(fixed(seconds, 1)) s"
            + " (all-reduce \(percent(totals.communicationSeconds / max(seconds, 1e-9))), data \(percent(totals.dataSeconds / max(seconds, 1e-9))))"
        console.line(summary)
        if checkpoint {
            try withAveragedStatistics { perRank in
                try saveCheckpoint(completedEpochs: stepsDone == steps ? epoch + 1 : epoch,
                                   stepInEpoch: stepsDone == steps ? 0 : stepsDone, rankStatistics: perRank)
            }
        }
    }

    /// Test loss and error over the whole test set: each rank its shard, sums all-reduced. The
    /// running statistics are the same on every (simulated) rank here: `averageStatistics` ran.
    private func evaluate() throws -> (loss: Double, error: Double) {
        var sums = TestSetEvaluation.sums(network: network, shards: ranksHere.map(\.evaluation),
                                          counts: ranksHere.map(\.test.count), chunk: max(network.passCapacity, 1))
        if world.size > 1 { try world.allreduceSum(&sums) }
        return (sums[0] / max(sums[2], 1), 1 - sums[1] / max(sums[2], 1))
    }

    // MARK: - Batch-norm running statistics

    /// Runs `body` with the network holding the mean over ranks of the running statistics (what
    /// evaluation and checkpoints see: one model), then puts this rank's own back. Averaging does not
    /// change the ranks' own statistics, so the run's trajectory does not depend on when it
    /// evaluates or checkpoints, and a resumed run can continue exactly. `body` gets every rank's
    /// statistics, in rank order. The mean is taken in Double in rank order, the same on every
    /// rank and with simulated ranks.
    func withAveragedStatistics<T>(_ body: ([[Float]]) throws -> T) throws -> T {
        let statistics = network.parameters.statistics
        let count = statistics.count
        let own = Array(statistics.buffer)
        var perRank: [[Float]]
        if plan.simulated {
            perRank = ranksHere.map(\.statistics)
        } else if world.size > 1 {
            var gathered = [Float](repeating: 0, count: count * world.size)
            try own.withUnsafeBytes { send in try gathered.withUnsafeMutableBytes { try world.allgather(send, into: $0) } }
            perRank = (0 ..< world.size).map { Array(gathered[$0 * count ..< ($0 + 1) * count]) }
        } else {
            perRank = [own]
        }
        if count > 0 && perRank.count > 1 {
            for i in 0 ..< count {
                var sum = 0.0
                for r in perRank.indices { sum += Double(perRank[r][i]) }
                statistics[i] = Float(sum / Double(perRank.count))
            }
        }
        defer { own.withUnsafeBufferPointer { statistics.pointer.update(from: $0.baseAddress!, count: count) } }
        return try body(perRank)
    }

    /// Where the last good state is, for a run stopped by a non-finite loss (rank 0 has the output).
    private func lastGoodState() -> String {
        guard let output else { return "see the output directory for the last checkpoint" }
        let directory = CheckpointStore.directory(in: output)
        return FileManager.default.fileExists(atPath: directory.path)
            ? "the last checkpoint, \(directory.path), is the last good state (lower --lr, or --grad-clip)"
            : "no checkpoint had been written yet (lower --lr, or --grad-clip)"
    }

    // MARK: - Logging

    private func logInterval(_ t: Totals, epoch: Int, step: Int, steps: Int, learningRate: Double, elapsed: Double,
                             remainingSteps: Int) throws {
        guard world.isRoot else { return }
        let record = StepRecord(
            epoch: epoch, step: globalStep, loss: t.loss / max(t.samples, 1), error: 1 - t.correct / max(t.samples, 1),
            learningRate: learningRate, gradientNorm: t.gradientNorm / Double(max(t.steps, 1)),
            imagesPerSecond: t.images / max(t.seconds, 1e-9), stepSeconds: t.seconds / Double(max(t.steps, 1)),
            communicationSeconds: t.communicationSeconds / Double(max(t.steps, 1)),
            dataSeconds: t.dataSeconds / Double(max(t.steps, 1)))
        try metrics?.write(record)
        let eta = Double(remainingSteps) * record.stepSeconds
        console.line("epoch \(epoch)/\(plan.epochs)  step \(step)/\(steps)  loss \(fixed(record.loss, 4))  "
            + "error \(percent(record.error))  lr \(shortNumber(learningRate))  \(fixed(record.imagesPerSecond, 0)) img/s  "
            + "ETA \(formatDuration(eta))")
    }

    private func describeRun() {
        let c = configuration
        let s = plan.settings(epoch: startEpoch)
        console.line("batchaug-dist \(job.version): \(c.model) (\(network.parameterCount) parameters) on \(c.dataset), "
            + "\(plan.ranks) rank\(plan.ranks == 1 ? "" : "s")\(plan.simulated ? " simulated in one process" : ""), "
            + "batch \(s.batchSize) × \(s.copies) copies = \(s.batchSize * s.copies) images per step, "
            + "ghost batch \(plan.ghostBatchSize(epoch: startEpoch)), \(plan.epochs) epochs"
            + (globalStep > 0 ? ", resuming at epoch \(startEpoch) step \(startStep) (step \(globalStep) of the run)" : "")
            + (output.map { ", output \($0.path)" } ?? ""))
    }

    // MARK: - Agreement

    static func agree(_ localError: String?, on world: any Communicator) throws {
        if let failure = try world.agree(onFailure: localError) {
            throw TrainingFailure(world.size > 1 ? "rank \(failure.rank): \(failure.message)" : failure.message)
        }
    }
}

/// Sums over steps (and over ranks, once reduced).
struct Totals {
    var loss = 0.0, correct = 0.0, samples = 0.0
    var gradientNorm = 0.0
    var steps = 0
    var seconds = 0.0, images = 0.0
    var communicationSeconds = 0.0, dataSeconds = 0.0

    mutating func add(_ other: Totals) {
        loss += other.loss; correct += other.correct; samples += other.samples
        gradientNorm += other.gradientNorm; steps += other.steps
        seconds += other.seconds; images += other.images
        communicationSeconds += other.communicationSeconds; dataSeconds += other.dataSeconds
    }
}

func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
func percent(_ value: Double) -> String { String(format: "%.2f%%", value * 100) }
func shortNumber(_ value: Double) -> String { String(format: "%.4g", value) }

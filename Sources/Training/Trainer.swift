import Augmentation
import Checkpoints
import Collectives
import DataParallel
import Datasets
import Engine
import Formatting
import Foundation
import RunReport
import Schedules

/// Facts about the job recorded in config.json (versions, hosts) — gathered by the caller, which
/// knows about MPI and OpenBLAS.
public struct JobDescription: Sendable {
    public var version: String
    public var mpi: String
    public var blas: String
    public var hosts: [String]
    /// Each rank's kernels (the same on every rank of a cluster of alike machines).
    public var kernels: [KernelSet]
    public init(version: String, mpi: String, blas: String, hosts: [String], kernels: [KernelSet] = [.current]) {
        self.version = version
        self.mpi = mpi
        self.blas = blas
        self.hosts = hosts
        self.kernels = kernels
    }
}

/// How a run ended, for the caller and for tests.
public struct TrainingSummary: Sendable {
    /// The epoch records (the rows of results.csv).
    public var epochs: [MetricRecord]
    public var steps: Int
    /// FNV-1a of the final parameters' bytes (identical on every rank).
    public var parameterChecksum: UInt64
    public var output: String?
    public var parameters: [Float]
}

/// A problem that stops every rank of the job together (see `CollectiveFailure`).
public struct TrainingFailure: CollectiveFailure, Sendable {
    public let description: String
    public let exitStatus: ExitStatus
    public init(_ description: String, _ exitStatus: ExitStatus = .failed) {
        self.description = description
        self.exitStatus = exitStatus
    }
    /// The options, a file or the data are wrong.
    static func refused(_ description: String) -> TrainingFailure { TrainingFailure(description, .refused) }
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
    /// The all-reduce of the gradients: `--allreduce`, or what `auto` measured (or the resumed run recorded).
    let allreduce: AllreduceDecision
    /// The ranks this process plays: one, or all of them with `--simulate-ranks`.
    var ranksHere: [RankData] { stepper.ranks }
    let counters = IOCounters()
    /// The output directory — on rank 0 only, the rank that writes. Decisions every rank must take
    /// alike read `configuration.output`.
    let output: URL?
    /// Rank 0's exclusive lock on `output`, held until the run ends.
    private var lock: RunLock?
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
    private var records: [MetricRecord] = []

    public var configuration: TrainingConfiguration { plan.configuration }

    /// Prepares the run on every rank: checks the configuration, loads each rank's shards, builds
    /// the model (rank 0's parameters everywhere), restores a checkpoint, opens the output. Any
    /// failure on any rank stops all ranks with one message.
    public init(configuration: TrainingConfiguration, communicator: any Communicator, job: JobDescription,
                resumeFrom checkpoint: Checkpoint? = nil) throws {
        world = communicator
        self.job = job
        console = Console(enabled: communicator.isRoot)
        // Agreed on: a dataset directory (photographs) may look different from another node.
        plan = try communicator.collectively {
            do {
                return try RunPlan(configuration, worldSize: communicator.size)
            } catch let error as ConfigurationError {
                throw TrainingFailure.refused(error.description)
            }
        }
        let hosted = plan.simulated ? Array(0 ..< plan.ranks) : [communicator.rank]

        // The model first, from the dataset's description, and the memory the run needs checked
        // against each host before any data or batch is allocated.
        let model = try RankData.makeNetwork(configuration, descriptor: plan.descriptor)
        let host = job.hosts.indices.contains(communicator.rank) ? job.hosts[communicator.rank] : nil
        try communicator.collectively { [plan] in
            try plan.checkMemory(network: model, sharing: max(job.hosts.filter { $0 == host }.count, 1), host: host,
                                 available: availableMemoryBytes())
        }

        // Data: rank-local failures (a file missing on one node) are agreed on, not left hanging,
        // and name the host.
        let loaded = try communicator.collectively { [plan, counters] in
            do {
                return try hosted.map { r in try RankData(plan: plan, rank: r, counters: counters) }
            } catch {
                throw TrainingFailure("\(error)" + (host.map { " (on host \($0))" } ?? ""), error.exitStatus == .failed ? .refused : error.exitStatus)
            }
        }

        network = model
        optimizer = SGD(parameters: network.parameters)
        let buckets = GradientBuckets(gradientRanges: network.gradientRanges, count: network.parameters.count,
                                      bucketBytes: plan.bucketBytes)
        allreduce = try AllreduceDecision(plan.allreduce, counts: buckets.ranges.map(\.count), resumingFrom: checkpoint,
                                          on: communicator)
        stepper = DataParallelStep(network: network, optimizer: optimizer, ranks: loaded, communicator: communicator,
                                   reduction: GradientReduction(buckets: buckets, overlap: plan.overlap,
                                                                algorithm: allreduce.policy.algorithm(forCount:)),
                                   seed: configuration.seed)
        try communicator.broadcast(UnsafeMutableRawBufferPointer(network.parameters.values.buffer), root: 0)

        // Output directory (rank 0 writes; everyone learns whether it worked).
        (output, lock) = try communicator.collectivelyOnRoot { () throws -> (URL?, RunLock?) in
            guard let path = configuration.output else { return (nil, nil) }
            return try Self.prepareOutput(path, resuming: configuration.resume != nil)
        } ?? (nil, nil)

        if configuration.resume != nil {
            try restore(checkpoint)
        }
        _ = try communicator.collectivelyOnRoot {
            guard let output else { return }
            // Rows of epochs from the one resumed on are written again (a partial epoch's row too).
            let resumedThrough = configuration.resume != nil ? startEpoch - 1 : nil
            do {
                metrics = try MetricsFiles(directory: output, resumingAfter: resumedThrough, atStep: globalStep)
                try writeConfiguration(to: output)
                metrics?.views = LiveViews(directory: output, resumedAt: configuration.resume != nil ? (globalStep, startStep > 0) : nil)
            } catch {
                throw TrainingFailure("cannot write to \(output.path): \(error.localizedDescription)")
            }
        }
    }

    /// Runs the remaining epochs; returns the per-epoch figures.
    public func run() throws -> TrainingSummary {
        let c = configuration
        let totalEpochs = plan.epochs
        describeRun()
        StopSignals.install(plan.stopSignals)
        if c.collectiveTimeout > 0 { try world.watchForHangs(timeout: c.collectiveTimeout) }
        var stopped = false, stoppedBySignal = false, finished = false
        for epoch in startEpoch ..< totalEpochs where !stopped {
            let settings = plan.settings(epoch: epoch)
            let perRank = plan.batchPerRank(epoch: epoch)
            let imagesPerRank = plan.imagesPerRank(epoch: epoch)
            let ghost = plan.ghostBatchSize(epoch: epoch)
            let steps = try world.collectively {
                try ranksHere.map { try $0.prepare(batchPerRank: perRank) }.last!
            }
            for data in ranksHere { data.begin(epoch: epoch) }
            // A run resumed inside an epoch continues it at the step where it stopped: the epoch's
            // order, the augmentations and the dropout masks are all functions of the position.
            let firstStep = epoch == startEpoch ? min(startStep, steps) : 0

            let epochStart = ContinuousClock.now
            // The epoch's steps, for its record; those from `intervalStart` on, for the next step record.
            var figures: [StepFigures] = []
            figures.reserveCapacity(steps - firstStep)
            var intervalStart = 0
            var lastLearningRate = 0.0
            var evaluationSeconds = 0.0   // --eval-every-steps' evaluations: not the epoch's training time
            var step = firstStep - 1
            while step + 1 < steps {
                step += 1
                let lr = plan.schedule.learningRate(epoch: epoch, step: step, stepsPerEpoch: steps)
                lastLearningRate = lr
                let stepStart = ContinuousClock.now
                world.note(activity: "step \(globalStep + 1) (epoch \(epoch), step \(step + 1) of \(steps))")
                if decodesPerStep { try load(epoch: epoch, step: step, of: steps, copies: settings.copies) }
                let loadSeconds = (ContinuousClock.now - stepStart).seconds
                let hyper = SGD.Hyperparameters(learningRate: Float(lr), momentum: Float(settings.momentum),
                                                weightDecay: Float(settings.weightDecay), nesterov: c.nesterov,
                                                clipNorm: c.gradientClip.map(Float.init))
                let outcome = try stepper(epoch: epoch, step: step, globalStep: globalStep, copies: settings.copies,
                                          batchSize: settings.batchSize, imagesPerRank: imagesPerRank,
                                          ghostBatchSize: ghost, hyperparameters: hyper,
                                          requestsStop: StopSignals.pending != nil)
                globalStep += 1
                guard outcome.totals.lossSum.isFinite && outcome.gradientNorm.isFinite else {
                    let what = outcome.totals.lossSum.isFinite
                        ? "the gradient norm became \(outcome.gradientNorm) (loss \(outcome.totals.lossSum / max(outcome.totals.samples, 1)))"
                        : "the loss became \(outcome.totals.lossSum)"
                    throw TrainingFailure("\(what) at step \(globalStep) (epoch \(epoch), step \(step + 1) of \(steps)); "
                        + "stopped without writing a checkpoint: " + lastGoodState(advice: "lower --lr, or --grad-clip"), .diverged)
                }
                if let decision = outcome.overlapDecision { console.line("overlap (auto): \(decision.summary)") }
                figures.append(StepFigures(outcome: outcome, seconds: (ContinuousClock.now - stepStart).seconds,
                                           loadSeconds: loadSeconds, images: Double(settings.copies * settings.batchSize)))
                console.progress(epoch: epoch, step: step + 1, steps: steps)
                let reachedLimit = (c.maxSteps.map { globalStep >= $0 } ?? false) || outcome.stopRequested
                // --eval-every-steps: the test set after this step, unless the epoch's end evaluates
                // it anyway. Decided from the configuration and the step, the same on every rank
                // (the evaluation is collective); its time is not the step's.
                var validation: (loss: Double, error: Double)? = nil
                let epochEndEvaluates = step + 1 == steps && evaluatesAtEnd(of: epoch, last: epoch == totalEpochs - 1)
                if c.evalEverySteps > 0 && globalStep % c.evalEverySteps == 0 && !epochEndEvaluates && !outcome.stopRequested {
                    world.note(activity: "the evaluation after step \(globalStep) (--eval-every-steps)")
                    let evaluationStart = ContinuousClock.now
                    validation = try stepper.statistics.withMean { _ in try self.evaluate() }
                    evaluationSeconds += (ContinuousClock.now - evaluationStart).seconds
                }
                if (step + 1) % c.logEvery == 0 || step + 1 == steps || reachedLimit || validation != nil {
                    try logInterval(figures[intervalStart...], epoch: epoch, step: step + 1, steps: steps, learningRate: lr,
                                    remainingSteps: (steps - step - 1) + (totalEpochs - epoch - 1) * steps,
                                    validation: validation)
                    intervalStart = figures.count
                }
                if reachedLimit {
                    stopped = true
                    stoppedBySignal = outcome.stopRequested
                    break
                }
            }
            // Stopped by a signal, the job has little time left (Slurm's grace before SIGKILL): the
            // checkpoint, not the test set.
            try finishEpoch(epoch, figures: figures[...], seconds: (ContinuousClock.now - epochStart).seconds - evaluationSeconds,
                            learningRate: lastLearningRate,
                            settings: settings, last: epoch == totalEpochs - 1 || stopped,
                            stepsDone: step + 1, steps: steps, evaluates: !stoppedBySignal)
            finished = epoch == totalEpochs - 1 && step + 1 == steps
        }
        if stoppedBySignal && !finished { throw TrainingStopped(description: stopMessage()) }
        if stopped { console.line("stopped after \(globalStep) steps (--max-steps)") }
        lock = nil
        return TrainingSummary(epochs: records, steps: globalStep, parameterChecksum: parameterChecksum(),
                               output: output?.path, parameters: Array(network.parameters.values.buffer))
    }

    // MARK: - Epoch end

    private func finishEpoch(_ epoch: Int, figures: ArraySlice<StepFigures>, seconds: Double, learningRate: Double,
                             settings: EpochSettings, last: Bool, stepsDone: Int, steps: Int, evaluates: Bool = true) throws {
        let c = configuration
        world.note(activity: "the end of epoch \(epoch) after step \(globalStep): replica check, evaluation, checkpoint")
        // Replicas must be identical; a difference is a bug or a broken node, not something to train through.
        if let mismatch = try world.firstMismatch(among: UnsafeRawBufferPointer(network.parameters.values.buffer)) {
            throw TrainingFailure("after epoch \(epoch) the parameters of rank \(mismatch.rank) differ from rank 0's "
                + "(checksums \(String(mismatch.checksum, radix: 16)) vs \(String(mismatch.rootChecksum, radix: 16)))")
        }
        let evaluate = evaluates && evaluatesAtEnd(of: epoch, last: last)
        // Decided from the configuration, which every rank holds; `output` exists on rank 0 only, and a
        // decision taken from it would leave the other ranks out of the collectives below.
        let checkpoint = c.output != nil && (last || (c.checkpointEvery > 0 && (epoch + 1) % c.checkpointEvery == 0))
        var validation: (loss: Double, error: Double)? = nil
        if evaluate { validation = try stepper.statistics.withMean { _ in try self.evaluate() } }
        let ranks = try rankSeconds(figures)
        let record = MetricRecord(.epoch, MetricInputs(
            steps: figures, epoch: epoch, globalStep: globalStep, learningRate: learningRate, seconds: seconds,
            batchSize: settings.batchSize, copies: settings.copies, validation: validation, ranks: ranks))
        records.append(record)
        writeMetrics { try $0.write(record) }
        var summary = "epoch \(epoch) done: train loss \(fixed(record.number(.trainLoss), 4)) "
            + "error \(percent(record.number(.trainError)))"
        if let validation { summary += ", test loss \(fixed(validation.loss, 4)) error \(percent(validation.error))" }
        summary += ", \(fixed(record.number(.imagesPerSecond), 0)) img/s, \(fixed(seconds, 1)) s"
            + " (all-reduce \(percent(record.number(.communicationSeconds) / max(seconds, 1e-9))), "
            + "data \(percent(record.number(.dataSeconds) / max(seconds, 1e-9))))"
        console.line(summary)
        if let straggler = Stragglers.report(epoch: epoch, ranks: ranks, hosts: job.hosts) { console.line(straggler) }
        if checkpoint {
            try stepper.statistics.withMean { perRank in
                try saveCheckpoint(completedEpochs: stepsDone == steps ? epoch + 1 : epoch,
                                   stepInEpoch: stepsDone == steps ? 0 : stepsDone, rankStatistics: perRank)
            }
        }
    }

    /// Whether the end of `epoch` evaluates on the test set (--eval-every epochs, and the run's end).
    private func evaluatesAtEnd(of epoch: Int, last: Bool) -> Bool {
        last || (configuration.evalEvery > 0 && (epoch + 1) % configuration.evalEvery == 0)
    }

    /// Every rank's own busy and waiting seconds of the epoch's steps, in rank order (collective;
    /// one entry for one process, whose simulated ranks share one clock).
    private func rankSeconds(_ figures: ArraySlice<StepFigures>) throws -> [RankSeconds] {
        let busy = figures.reduce(0) { $0 + $1.dataSeconds + $1.outcome.computeSeconds + $1.outcome.updateSeconds }
        let waited = figures.reduce(0) { $0 + $1.outcome.exposedCommunicationSeconds }
        let mine = [busy, waited]
        var all = [Double](repeating: 0, count: 2 * world.size)
        try mine.withUnsafeBytes { send in try all.withUnsafeMutableBytes { try world.allgather(send, into: $0) } }
        return (0 ..< world.size).map { RankSeconds(compute: all[2 * $0], wait: all[2 * $0 + 1]) }
    }

    /// Test loss and error over the whole test set, with the running statistics averaged over
    /// ranks (the caller's `withMean`).
    private func evaluate() throws -> (loss: Double, error: Double) {
        let result = try TestSetEvaluation.run(network: network, shards: ranksHere.map { ($0.evaluation, $0.test.count) },
                                               chunk: network.passCapacity, communicator: world)
        return (result.loss, result.error)
    }

    /// FNV-1a of the parameters' bytes (for the replica check, checkpoints and the summary).
    func parameterChecksum() -> UInt64 { fnv1a(UnsafeRawBufferPointer(network.parameters.values.buffer)) }

    /// What a run stopped by a signal says: which signal (where this rank received it), where it
    /// stands, and the command that continues it.
    private func stopMessage() -> String {
        let signal = StopSignals.pending.map(StopSignals.name) ?? "a stop signal (sent to another rank)"
        let directory = configuration.output ?? "OUTPUT"
        return "stopped by \(signal) after step \(globalStep); the checkpoint in "
            + "\(CheckpointStore.directory(in: URL(fileURLWithPath: directory)).path) holds it (exit status "
            + "\(ExitStatus.stopped.rawValue)). Continue with: batchaug-dist train --resume \(directory) "
            + "(or run the same command again if it uses --resume-or-start)"
    }

    /// Where the last good state is, for a run stopped before its step's update could be trusted
    /// (rank 0 has the output), and `advice` on what to do.
    private func lastGoodState(advice: String) -> String {
        guard let output else { return "see the output directory for the last checkpoint" }
        let directory = CheckpointStore.directory(in: output)
        return FileManager.default.fileExists(atPath: directory.path)
            ? "the last checkpoint, \(directory.path), is the last good state (\(advice))"
            : "no checkpoint had been written yet (\(advice))"
    }

    /// Whether each step's samples are photographs read and decoded before the step.
    private var decodesPerStep: Bool { ranksHere[0].decodesPerStep }

    /// Reads and decodes the photographs of `step` on every rank played here. A bad file on any
    /// rank stops all ranks together, before the step, with its message; the last checkpoint stays.
    private func load(epoch: Int, step: Int, of steps: Int, copies: Int) throws {
        do {
            try world.collectively {
                for data in ranksHere { try data.load(step: step, copies: copies) }
            }
        } catch let failure as AgreedFailure {
            let run = configuration.output.map { " and continue with --resume \($0)" } ?? ""
            throw TrainingFailure("\(failure.description)\nstopped before step \(globalStep + 1) (epoch \(epoch), step \(step + 1) "
                + "of \(steps)) without writing a checkpoint: " + lastGoodState(advice: "replace the file\(run)"), .refused)
        }
    }

    // MARK: - Logging

    /// Writes to the metrics files (rank 0 only). A failure there (a full disk) cannot be agreed on
    /// with the other ranks, which are already in the next step's all-reduce: it stops the whole job,
    /// with the message, leaving the last checkpoint as it was.
    private func writeMetrics(_ write: (MetricsFiles) throws -> Void) {
        guard let metrics else { return }
        do { try write(metrics) } catch { world.abort(message: "\(error)", code: 1) }
    }

    private func logInterval(_ figures: ArraySlice<StepFigures>, epoch: Int, step: Int, steps: Int, learningRate: Double,
                             remainingSteps: Int, validation: (loss: Double, error: Double)? = nil) throws {
        guard world.isRoot else { return }
        let record = MetricRecord(.step, MetricInputs(steps: figures, epoch: epoch, globalStep: globalStep,
                                                      learningRate: learningRate, validation: validation))
        writeMetrics { try $0.write(record) }
        let eta = Double(remainingSteps) * record.number(.stepSeconds)
        console.line("epoch \(epoch)/\(plan.epochs)  step \(step)/\(steps)  loss \(fixed(record.number(.loss), 4))  "
            + "error \(percent(record.number(.error)))  lr \(significant(learningRate, digits: 4))  "
            + "\(fixed(record.number(.imagesPerSecond), 0)) img/s  "
            + "ETA \(formatDuration(eta))"
            + (validation.map { "  test loss \(fixed($0.loss, 4)) error \(percent($0.error))" } ?? ""))
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
        if let photos = plan.photos {
            let d = photos.descriptor
            let names = d.classNames.prefix(10).joined(separator: ", ") + (d.classes > 10 ? ", …" : "")
            console.line("\(c.dataset) \(photos.directory): \(d.classes) classes (\(names)), \(d.trainCount) training and "
                + "\(d.testCount) validation images\(photos.validationFraction.map { " (--val-fraction \($0))" } ?? ""), "
                + "as \(d.height)×\(d.width) (\(Transform.listDescription(plan.transforms)))"
                + (plan.cacheBytes > 0 ? ", decoded images cached up to \(c.cacheDecoded) per rank" : ""))
            if let note = photos.skippedNote { console.line(note) }
        }
        if world.size > 1 {
            console.line("all-reduce (\(c.allreduce)): \(allreduce.summary)")
            let buckets = stepper.reduction.buckets
            console.line("gradient in \(buckets.count) bucket\(buckets.count == 1 ? "" : "s") (--bucket-size \(c.bucketSize)), "
                + "all-reduced \(stepper.overlapDescription)")
        }
    }
}

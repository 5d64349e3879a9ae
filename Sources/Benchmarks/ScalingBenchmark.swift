import Augmentation
import Collectives
import DataParallel
import Datasets
import Engine
import Formatting
import JSON

/// `bench scaling`: the training step of `train` (augmentation, forward/backward, gradient
/// all-reduce, SGD update — `DataParallelStep`) timed on one rank and on all ranks of the job, with
/// the same per-rank batch (weak scaling, as data-parallel training grows: B = N·b).
///
/// First rank 0 trains alone while the other ranks sleep (leaving it the machine), then all ranks
/// train together. Each phase builds its own ranks' shards, model and optimiser, takes `warmup` untimed steps,
/// then `steps` timed ones; a step's time is rank 0's wall time from the start of augmentation to
/// the end of the update. Before a gradient all-reduce after backward the ranks meet in a barrier,
/// so that the time rank 0 waits for a slower rank (load imbalance, noise from the machine) and
/// the time of the all-reduce itself are reported apart; both are part of the step time. (While
/// the buckets are all-reduced during backward there is no barrier: the main thread may not call
/// MPI while the communication thread does, and the waiting is then part of the exposed time.)
public struct ScalingBenchmark {
    public struct Configuration: Sendable {
        public var model: String
        public var dataset: DatasetKind
        public var directory: String?
        public var transforms: [Transform]
        /// b: samples per rank per step; the rank's batch is M·b images.
        public var batchPerRank: Int
        public var copies: Int
        public var ghostBatchSize: Int?
        public var algorithm: AllreduceAlgorithm
        public var steps: Int
        public var warmup: Int
        public var seed: UInt64
        /// The all-reduce's buckets (`GradientBuckets`; 0: one bucket) and whether they are
        /// all-reduced during backward.
        public var bucketBytes: Int
        public var overlap: Overlap

        public init(model: String, dataset: DatasetKind, directory: String?, transforms: [Transform], batchPerRank: Int,
                    copies: Int, ghostBatchSize: Int?, algorithm: AllreduceAlgorithm, steps: Int, warmup: Int,
                    seed: UInt64, bucketBytes: Int = 0, overlap: Overlap = .auto) {
            self.bucketBytes = bucketBytes
            self.overlap = overlap
            self.model = model
            self.dataset = dataset
            self.directory = directory
            self.transforms = transforms
            self.batchPerRank = batchPerRank
            self.copies = copies
            self.ghostBatchSize = ghostBatchSize
            self.algorithm = algorithm
            self.steps = steps
            self.warmup = warmup
            self.seed = seed
        }
    }

    /// The figures of one phase (one number of ranks), as rank 0 measured them.
    public struct Phase: Sendable {
        public var ranks: Int
        public var imagesPerStep: Int
        /// Medians over the timed steps.
        public var stepSeconds: Double
        public var computeSeconds: Double
        public var allreduceSeconds: Double
        /// What the step waited for the all-reduce after backward (all of it with one bucket).
        public var exposedSeconds: Double
        public var buckets: Int
        /// Whether the buckets were all-reduced during backward in the timed steps.
        public var overlapped: Bool
        public var waitSeconds: Double
        public var dataSeconds: Double
        public var updateSeconds: Double
        public var imagesPerSecond: Double { Double(imagesPerStep) / stepSeconds }
        /// Median all-reduce time over median step time.
        public var allreduceFraction: Double { allreduceSeconds / stepSeconds }
        public var gradientBytes: Int
    }

    public let configuration: Configuration
    public init(_ configuration: Configuration) { self.configuration = configuration }

    /// A configuration that cannot run.
    public struct Refusal: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Both phases (only the second in a job of one rank), as rank 0 measured them. Collective.
    public func run(on world: some SplittableCommunicator) throws -> [Phase] {
        var phases: [Phase] = []
        if world.size > 1 {
            let alone = try world.split(color: world.rank == 0 ? 0 : nil, key: 0)
            let outcome = alone.map { communicator in Result { try measure(on: communicator) } }
            try world.sleepingBarrier()
            if let phase = try world.collectivelyOnRoot({ try outcome!.get() }) { phases.append(phase) }
        }
        phases.append(try measure(on: world))
        return phases
    }

    /// Runs one phase on every rank of `communicator` (collective over it).
    func measure(on communicator: any Communicator) throws -> Phase {
        BLAS.useOneThreadPerRank()
        let c = configuration
        let images = c.batchPerRank * c.copies
        let ghost = c.ghostBatchSize ?? images
        let (data, network) = try communicator.collectively {
            guard images % ghost == 0 else {
                throw Refusal(description: "--ghost-batch-size \(ghost) does not divide the rank's batch of \(images) images")
            }
            let data = try RankData(rank: communicator.rank, ranks: communicator.size, dataset: c.dataset,
                                    directory: c.directory, transforms: c.transforms, batchPerRank: c.batchPerRank,
                                    seed: c.seed, counters: IOCounters())
            let d = data.descriptor
            let network = try ModelZoo.make(c.model, input: TensorShape(channels: d.channels, height: d.height, width: d.width),
                                            classes: d.classes, seed: c.seed, dropoutSites: false)
            return (data, network)
        }
        try communicator.broadcast(UnsafeMutableRawBufferPointer(network.parameters.values.buffer), root: 0)
        let buckets = GradientBuckets(gradientRanges: network.gradientRanges, count: network.parameters.count,
                                      bucketBytes: c.bucketBytes)
        let step = DataParallelStep(network: network, optimizer: SGD(parameters: network.parameters), ranks: [data],
                                    communicator: communicator,
                                    reduction: GradientReduction(buckets: buckets, overlap: c.overlap) { _ in c.algorithm },
                                    seed: c.seed)
        let stepsPerEpoch = try data.prepare(batchPerRank: c.batchPerRank)
        let hyper = SGD.Hyperparameters(learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4)
        var samples: [(total: Double, wait: Double, outcome: DataParallelStep.Outcome)] = []
        var epoch = -1
        for index in 0 ..< c.warmup + c.steps {
            if index % stepsPerEpoch == 0 {
                epoch += 1
                data.begin(epoch: epoch)
            }
            let start = ContinuousClock.now
            // The training step's four phases, with a timed barrier before the all-reduce.
            var outcome = try step.computeLocalGradient(epoch: epoch, step: index % stepsPerEpoch, globalStep: index,
                                                        copies: c.copies, imagesPerRank: images, ghostBatchSize: ghost)
            var wait = 0.0
            if communicator.size > 1 && !step.overlapsCommunication {
                let waitStart = ContinuousClock.now
                try communicator.barrier()
                wait = (ContinuousClock.now - waitStart).seconds
            }
            try step.reduceGradient(&outcome)
            step.update(&outcome, copies: c.copies, batchSize: c.batchPerRank * communicator.size, hyperparameters: hyper)
            try step.sumOverRanks(&outcome)
            if index >= c.warmup { samples.append(((ContinuousClock.now - start).seconds, wait, outcome)) }
        }
        return Phase(ranks: communicator.size, imagesPerStep: images * communicator.size,
                     stepSeconds: median(samples.map(\.total)),
                     computeSeconds: median(samples.map(\.outcome.computeSeconds)),
                     allreduceSeconds: median(samples.map(\.outcome.communicationSeconds)),
                     exposedSeconds: median(samples.map(\.outcome.exposedCommunicationSeconds)),
                     buckets: buckets.count, overlapped: step.overlapsCommunication,
                     waitSeconds: median(samples.map(\.wait)),
                     dataSeconds: median(samples.map(\.outcome.dataSeconds)),
                     updateSeconds: median(samples.map(\.outcome.updateSeconds)),
                     gradientBytes: network.parameters.values.count * MemoryLayout<Float>.size)
    }
}

/// The report of `bench scaling`: a table, or one JSON object per phase.
public struct ScalingReport {
    public var model: String
    public var dataset: String
    public var batchPerRank: Int
    public var copies: Int
    public var algorithm: AllreduceAlgorithm
    public var phases: [ScalingBenchmark.Phase]

    public init(model: String, dataset: String, batchPerRank: Int, copies: Int, algorithm: AllreduceAlgorithm,
                phases: [ScalingBenchmark.Phase]) {
        self.model = model
        self.dataset = dataset
        self.batchPerRank = batchPerRank
        self.copies = copies
        self.algorithm = algorithm
        self.phases = phases
    }

    /// Throughput of a phase over the one-rank phase's (nil without a one-rank phase).
    public func speedup(_ phase: ScalingBenchmark.Phase) -> Double? {
        phases.first { $0.ranks == 1 }.map { phase.imagesPerSecond / $0.imagesPerSecond }
    }

    public func jsonLines() -> String {
        phases.map { p in
            var line = JSONLine()
                .add("op", "scaling").add("model", model).add("dataset", dataset).add("ranks", p.ranks)
                .add("batch_per_rank", batchPerRank).add("copies", copies).add("allreduce", algorithm.rawValue)
                .add("images_per_second", p.imagesPerSecond).add("step_seconds", p.stepSeconds)
                .add("compute_seconds", p.computeSeconds).add("allreduce_seconds", p.allreduceSeconds)
                .add("exposed_comm_seconds", p.exposedSeconds).add("buckets", p.buckets).add("overlap", p.overlapped)
                .add("wait_seconds", p.waitSeconds).add("data_seconds", p.dataSeconds).add("update_seconds", p.updateSeconds)
                .add("allreduce_fraction", p.allreduceFraction).add("gradient_bytes", p.gradientBytes)
            if let s = speedup(p) { line = line.add("speedup", s).add("efficiency", s / Double(p.ranks)) }
            return line.render()
        }.joined(separator: "\n")
    }

    public func table() -> String {
        let note = "\(model) on \(dataset), b = \(batchPerRank) samples × M = \(copies) copies per rank, "
            + "\(algorithm.rawValue) all-reduce of \(phases.first.map { ByteSize.format($0.gradientBytes) } ?? "?"); "
            + "medians over the timed steps"
        var table = TextTable(header: ["ranks", "images/s", "speedup", "efficiency", "step ms", "compute ms", "wait ms",
                                       "all-reduce ms", "all-reduce %", "buckets", "overlap", "exposed ms", "data ms",
                                       "update ms"],
                              alignment: .right)
        for p in phases {
            let s = speedup(p)
            table.append([
                "\(p.ranks)", fixed(p.imagesPerSecond, 1), s.map { fixed($0, 3) + "×" } ?? "-",
                s.map { fixed(100 * $0 / Double(p.ranks), 1) + "%" } ?? "-",
                ms(p.stepSeconds), ms(p.computeSeconds), ms(p.waitSeconds), ms(p.allreduceSeconds),
                percent(p.allreduceFraction), "\(p.buckets)", p.ranks > 1 ? (p.overlapped ? "on" : "off") : "-",
                ms(p.exposedSeconds), ms(p.dataSeconds), ms(p.updateSeconds),
            ])
        }
        return note + "\n" + table.render()
    }

    private func ms(_ seconds: Double) -> String { fixed(seconds * 1000, 2) }
}

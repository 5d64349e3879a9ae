import Checkpoints
import Collectives
import DataParallel
import Engine
import Training

/// The gradient-norm study's measurement: at fixed parameters, the L2 norm of the step's mean
/// gradient for many batches of three kinds, with no update in between.
///
/// - `baseline`: B distinct samples, one copy each (the training step of `train --copies 1`);
/// - `ba-M`: the same B samples in M augmented copies each (M·B images; copy 0 is the baseline's
///   image, since augmentation draws are keyed by (seed, epoch, sample, copy));
/// - `large-M`: M·B distinct samples, one copy each.
///
/// Batch k of every kind is step k of the epoch plan for its per-rank batch, carried over into later
/// epochs when one epoch has fewer steps; ghost batch norm uses the study's ghost batch for all three,
/// so that only what the batch holds differs. ‖g‖ is the norm of the gradient summed over the ranks
/// and scaled by 1/(images in the step) — the quantity `train` logs as `grad_norm`.
public enum GradientNormProbe {
    public struct Settings: Sendable {
        /// The study's shared configuration (data, model, B, ghost batch, augmentation).
        public var base: TrainingConfiguration
        /// The values of M.
        public var factors: [Int]
        /// Batches measured per kind.
        public var batches: Int
        /// Epochs of baseline training before each measurement (0: the initial parameters).
        public var points: [Int]
        /// The arm whose checkpoint gives the trained parameters.
        public var trainingArm: String
    }

    /// One kind of batch at one point: the norms of its batches, in order.
    public struct Measurement: Sendable, Equatable {
        public var arm: String
        /// Copies per sample and distinct samples per step.
        public var copies: Int
        public var batchSize: Int
        public var norms: [Double]
        public var mean: Double { norms.reduce(0, +) / Double(max(norms.count, 1)) }
        public init(arm: String, copies: Int, batchSize: Int, norms: [Double]) {
            self.arm = arm
            self.copies = copies
            self.batchSize = batchSize
            self.norms = norms
        }
    }

    /// The kinds of batch measured, in the order they are run and reported.
    public static func arms(_ settings: Settings) -> [(name: String, copies: Int, batchSize: Int)] {
        let b = settings.base.batchSize
        return [("baseline", 1, b)] + settings.factors.flatMap { m in [("ba-\(m)", m, b), ("large-\(m)", 1, m * b)] }
    }

    /// Measures every kind of batch at the parameters of `checkpoint` (given on rank 0; the others
    /// receive them), or at the model's initial parameters for `seed` when it is nil. Collective over
    /// `communicator`: every rank takes its share of each batch, the gradients are all-reduced as in
    /// training. Errors on any rank stop all ranks together.
    public static func measure(_ settings: Settings, seed: UInt64, restoringFrom checkpoint: Checkpoint?,
                               communicator world: any Communicator) throws -> [Measurement] {
        var configuration = settings.base
        configuration.seed = seed
        let ranks = world.size
        let kinds = arms(settings)
        let (data, network) = try world.collectively {
            // Every batch shape must split over the ranks and fit the ghost batch, as in training.
            for kind in kinds {
                var check = configuration
                (check.copies, check.batchSize) = (kind.copies, kind.batchSize)
                try check.validate(ranks: ranks)
            }
            let data = try RankData(configuration: configuration, rank: world.rank, ranks: ranks)
            let network = try data.makeNetwork(configuration)
            if let checkpoint {
                let store = network.parameters
                try ModelTensors.parameters(of: store).restore(from: checkpoint, into: store.values.buffer)
            }
            return (data, network)
        }
        try world.broadcast(UnsafeMutableRawBufferPointer(network.parameters.values.buffer), root: 0)
        // One all-reduce of the whole gradient after backward, with the ring.
        let whole = GradientBuckets(gradientRanges: network.gradientRanges, count: network.parameters.count, bucketBytes: 0)
        let step = DataParallelStep(network: network, optimizer: SGD(parameters: network.parameters), ranks: [data],
                                    communicator: world, reduction: GradientReduction(buckets: whole, overlap: .off) { _ in .ring },
                                    seed: seed)
        var measurements: [Measurement] = []
        for kind in kinds {
            let perRank = kind.batchSize / ranks
            let images = kind.copies * perRank
            let ghost = configuration.ghostBatchSize ?? images
            let stepsPerEpoch = try data.prepare(batchPerRank: perRank)
            var norms: [Double] = []
            var epoch = -1
            for batch in 0 ..< settings.batches {
                if batch / stepsPerEpoch != epoch {
                    epoch = batch / stepsPerEpoch
                    data.begin(epoch: epoch)
                }
                if data.decodesPerStep {
                    // Photographs: the step's samples decoded first, a bad file agreed on by every rank.
                    try world.collectively { try data.load(step: batch % stepsPerEpoch, copies: kind.copies) }
                }
                _ = try step.computeGradient(epoch: epoch, step: batch % stepsPerEpoch, globalStep: batch,
                                             copies: kind.copies, imagesPerRank: images, ghostBatchSize: ghost)
                let scale = 1 / Float(kind.copies * kind.batchSize)
                norms.append(Double(SGD.gradientNorm(network.parameters, scale: scale)))
            }
            measurements.append(Measurement(arm: kind.name, copies: kind.copies, batchSize: kind.batchSize, norms: norms))
        }
        return measurements
    }
}

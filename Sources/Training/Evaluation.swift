import Augmentation
import Checkpoints
import Collectives
import DataParallel
import Datasets
import Engine
import Foundation
import JSON

/// What `batchaug-dist eval` reports.
public struct EvaluationReport: Sendable {
    public var model: String
    public var dataset: String
    public var checkpoint: String
    /// Epochs completed and steps taken when the checkpoint was written.
    public var epoch: Int
    public var step: Int
    /// Steps of epoch `epoch` already taken (a checkpoint written inside an epoch), else 0.
    public var stepInEpoch: Int
    public var samples: Int
    public var loss: Double
    public var error: Double
}

/// `batchaug-dist eval --checkpoint DIR`: the test loss and error of a saved model, on any number
/// of ranks (the checkpoint holds running statistics already averaged over the training ranks, so
/// the result does not depend on how many ranks evaluate).
public enum CheckpointEvaluation {
    /// What rank 0 reads from the checkpoint and every rank needs to build the model and its shard.
    private struct Target: Codable {
        var model: String
        var dataset: String
        var dataDirectory: String?
        /// Photographs: their size, validation split and pixel limit, and the checkpoint's classes.
        var size: Int?
        var valFraction: Double?
        var maxImagePixels: Int
        var classes: [String]
        var seed: UInt64
        var checkpoint: String
        var epoch: Int
        var step: Int
        var stepInEpoch: Int
    }

    public static func run(checkpoint path: String, dataset: String?, dataDirectory: String?,
                           batchSize: Int, communicator world: any Communicator) throws -> EvaluationReport {
        // Rank 0 reads the checkpoint and tells everyone what to build.
        let loaded: (checkpoint: Checkpoint, target: Target)? = try world.collectivelyOnRoot {
            guard batchSize >= 1 else {
                throw ConfigurationError(option: "batch-size", problem: "must be at least 1, got \(batchSize)")
            }
            let checkpoint: Checkpoint
            do {
                checkpoint = try CheckpointStore.latest(in: URL(fileURLWithPath: path))
            } catch {
                throw ConfigurationError(option: "checkpoint", problem: "\(error)")
            }
            var configuration = try TrainingConfiguration(checkpoint: checkpoint)
            var stepInEpoch = 0
            if case let .integer(value)? = checkpoint.info.extra["step_in_epoch"] { stepInEpoch = Int(value) }
            if let dataset {
                configuration.dataset = dataset
                configuration.dataDirectory = nil
            }
            if let dataDirectory { configuration.dataDirectory = dataDirectory }
            var classes: [String] = []
            if case .array(let names)? = checkpoint.info.extra["classes"] {
                classes = names.compactMap { if case .string(let name) = $0 { name } else { nil } }
            }
            return (checkpoint, Target(model: configuration.model, dataset: configuration.dataset,
                                       dataDirectory: configuration.dataDirectory, size: configuration.size,
                                       valFraction: configuration.valFraction, maxImagePixels: configuration.maxImagePixels,
                                       classes: classes, seed: configuration.seed,
                                       checkpoint: checkpoint.directory.path, epoch: checkpoint.info.epoch,
                                       step: checkpoint.info.step, stepInEpoch: stepInEpoch))
        }
        let text = try world.broadcast(bytes: try loaded.map { Array(try JSONEncoder().encode($0.target)) } ?? [])
        let target = try JSONDecoder().decode(Target.self, from: Data(text))

        // Every rank: its test shard and the model.
        let (network, test) = try world.collectively {
            guard let kind = DatasetKind(rawValue: target.dataset) else {
                throw ConfigurationError(option: "dataset", problem: "'\(target.dataset)' is not a dataset: choose "
                    + DatasetKind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let shard: ImageShard
            if kind.isPhotos {
                guard let directory = target.dataDirectory else {
                    throw ConfigurationError(option: "data-dir", problem: "is needed with --dataset \(kind.rawValue)")
                }
                let photos = try PhotoDataset(kind: kind, directory: directory, size: target.size ?? PhotoGeometry.defaultSize,
                                              validationFraction: target.valFraction)
                if !target.classes.isEmpty && target.classes != photos.descriptor.classNames {
                    throw ConfigurationError(option: "data-dir", problem: "\(directory) has the classes "
                        + "\(photos.descriptor.classNames.joined(separator: ", ")); the checkpoint was trained on "
                        + "\(target.classes.joined(separator: ", ")) (labels in that order)")
                }
                shard = try ImageShard.decodingValidation(try photos.validation(rank: world.rank, ranks: world.size),
                                                          maxPixels: target.maxImagePixels)
            } else {
                shard = try ImageShard.load(kind, directory: target.dataDirectory, split: .test, rank: world.rank,
                                            ranks: world.size, counters: IOCounters())
            }
            let d = shard.descriptor
            let network = try ModelZoo.make(target.model, input: TensorShape(channels: d.channels, height: d.height, width: d.width),
                                            classes: d.classes, seed: target.seed, dropoutSites: false)
            return (network, (augmenter: try BatchAugmenter(shard: shard, transforms: [], seed: target.seed), count: shard.count))
        }

        // Rank 0 fills the model from the checkpoint (a model of another shape is named here).
        let store = network.parameters
        _ = try world.collectivelyOnRoot {
            guard let checkpoint = loaded?.checkpoint else { return }
            do {
                try ModelTensors.restoreForEvaluation(store, from: checkpoint.tensorFile)
            } catch let error as ModelTensors.UnusableValue {
                throw TrainingFailure.refused("--checkpoint \(target.checkpoint): \(error)")
            } catch {
                throw TrainingFailure.refused("--checkpoint \(target.checkpoint) does not fit \(target.model) on \(target.dataset): \(error)")
            }
        }
        try world.broadcast(UnsafeMutableRawBufferPointer(store.values.buffer), root: 0)
        try world.broadcast(UnsafeMutableRawBufferPointer(store.statistics.buffer), root: 0)

        let result = try TestSetEvaluation.run(network: network, shards: [test], chunk: batchSize, communicator: world)
        return EvaluationReport(model: target.model, dataset: target.dataset, checkpoint: target.checkpoint,
                                epoch: target.epoch, step: target.step, stepInEpoch: target.stepInEpoch, samples: result.samples, loss: result.loss,
                                error: result.error)
    }
}

extension TrainingConfiguration {
    /// The configuration a checkpoint of this tool records; one that holds none (another program's)
    /// is a `ConfigurationError` of `--checkpoint` naming the directory.
    public init(checkpoint: Checkpoint) throws {
        do {
            self = try TrainingConfiguration(options: checkpoint.info.configuration.objectValue ?? [:])
        } catch {
            throw ConfigurationError(option: "checkpoint",
                                     problem: "\(checkpoint.directory.path) holds no configuration of this tool: \(error)")
        }
    }
}

import Augmentation
import Checkpoints
import Collectives
import Datasets
import Engine
import Foundation
import JSON

/// Test-set evaluation, sharded over ranks: each rank runs its shard of the test set forward in
/// evaluation mode (running batch-norm statistics, no dropout) and the ranks all-reduce the sums.
enum TestSetEvaluation {
    /// Summed loss, number correct and number of samples over the test shards played in this
    /// process (one per rank; several with `--simulate-ranks`).
    static func sums(network: Network, shards: [BatchAugmenter], counts: [Int], chunk requested: Int) -> [Double] {
        var sums = [0.0, 0.0, 0.0]
        let chunk = max(requested, 1)
        var images = [Float](repeating: 0, count: chunk * network.inputShape.elements)
        var labels = [Int32](repeating: 0, count: chunk)
        var indices = [Int](repeating: 0, count: chunk)
        for (augmenter, count) in zip(shards, counts) {
            var first = 0
            while first < count {
                let rows = min(chunk, count - first)
                for i in 0 ..< rows { indices[i] = first + i }
                images.withUnsafeMutableBufferPointer { x in
                    labels.withUnsafeMutableBufferPointer { y in
                        indices.withUnsafeBufferPointer { samples in
                            augmenter.fill(images: x.baseAddress!, labels: y.baseAddress!,
                                           samples: UnsafeBufferPointer(rebasing: samples[..<rows]), copies: 1, epoch: 0)
                        }
                    }
                }
                let result = images.withUnsafeBufferPointer { x in
                    labels.withUnsafeBufferPointer { y in
                        network.evaluate(images: x.baseAddress!, labels: y.baseAddress!, count: rows, chunk: chunk)
                    }
                }
                sums[0] += result.lossSum
                sums[1] += Double(result.correct)
                sums[2] += Double(rows)
                first += rows
            }
        }
        return sums
    }
}

/// What `batchaug-dist eval` reports.
public struct EvaluationReport: Sendable {
    public var model: String
    public var dataset: String
    public var checkpoint: String
    /// Epochs completed and steps taken when the checkpoint was written.
    public var epoch: Int
    public var step: Int
    public var samples: Int
    public var loss: Double
    public var error: Double
}

/// `batchaug-dist eval --checkpoint DIR`: the test loss and error of a saved model, on any number
/// of ranks (the checkpoint holds running statistics already averaged over the training ranks, so
/// the result does not depend on how many ranks evaluate).
public enum CheckpointEvaluation {
    public static func run(checkpoint path: String, dataset: String?, dataDirectory: String?,
                           batchSize: Int, communicator world: any Communicator) throws -> EvaluationReport {
        // Rank 0 reads the checkpoint and tells everyone what to build.
        var loaded: Checkpoint? = nil
        var description: [String: JSONValue] = [:]
        var failure: String? = nil
        if world.isRoot {
            do {
                guard batchSize >= 1 else {
                    throw ConfigurationError(option: "batch-size", problem: "must be at least 1, got \(batchSize)")
                }
                let checkpoint: Checkpoint
                do {
                    checkpoint = try CheckpointStore.latest(in: URL(fileURLWithPath: path))
                } catch {
                    throw ConfigurationError(option: "checkpoint", problem: "\(error)")
                }
                var configuration: TrainingConfiguration
                do {
                    configuration = try checkpoint.info.decodeConfiguration(TrainingConfiguration.self)
                } catch {
                    throw ConfigurationError(option: "checkpoint",
                                             problem: "\(checkpoint.directory.path) holds no configuration of this tool: \(error)")
                }
                if let dataset {
                    configuration.dataset = dataset
                    configuration.dataDirectory = nil
                }
                if let dataDirectory { configuration.dataDirectory = dataDirectory }
                description = [
                    "model": .string(configuration.model), "dataset": .string(configuration.dataset),
                    "data-dir": configuration.dataDirectory.map(JSONValue.string) ?? .null,
                    "seed": .string(String(configuration.seed)), "checkpoint": .string(checkpoint.directory.path),
                    "epoch": .number(checkpoint.info.epoch), "step": .number(checkpoint.info.step),
                ]
                loaded = checkpoint
            } catch {
                failure = "\(error)"
            }
        }
        try Trainer.agree(failure, on: world)
        let text = try world.broadcast(bytes: world.isRoot ? Array(try JSONValue.object(description).jsonText().utf8) : [],
                                       root: 0)
        guard let fields = try JSONValue(parsing: Data(text)).objectValue,
              case let .string(model)? = fields["model"], case let .string(datasetName)? = fields["dataset"],
              case let .string(seedText)? = fields["seed"], let seed = UInt64(seedText),
              case let .string(checkpointPath)? = fields["checkpoint"],
              case let .integer(epoch)? = fields["epoch"], case let .integer(step)? = fields["step"]
        else { throw TrainingFailure("eval: the checkpoint description did not reach every rank intact") }
        var directory: String? = nil
        if case let .string(d)? = fields["data-dir"] { directory = d }

        // Every rank: its test shard and the model.
        var network: Network? = nil
        var test: (augmenter: BatchAugmenter, count: Int)? = nil
        failure = nil
        do {
            guard let kind = DatasetKind(rawValue: datasetName) else {
                throw ConfigurationError(option: "dataset", problem: "'\(datasetName)' is not a dataset: choose "
                    + DatasetKind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let shard = try ImageShard.load(kind, directory: directory, split: .test, rank: world.rank,
                                            ranks: world.size, counters: IOCounters())
            let d = shard.descriptor
            network = try ModelZoo.make(model, input: TensorShape(channels: d.channels, height: d.height, width: d.width),
                                        classes: d.classes, seed: seed)
            test = (try BatchAugmenter(shard: shard, transforms: [], seed: seed), shard.count)
        } catch {
            failure = "\(error)"
        }
        try Trainer.agree(failure, on: world)
        guard let network, let test else { throw TrainingFailure("eval: no model was built") }

        // Rank 0 fills the model from the checkpoint (a model of another shape is named here).
        let store = network.parameters
        failure = nil
        if let loaded {
            do {
                for spec in store.table {
                    try loaded.restore(spec.name, shape: spec.shape,
                                       into: UnsafeMutableBufferPointer(rebasing: store.values.buffer[spec.range]))
                }
                for spec in store.statisticsTable {
                    try loaded.restore(spec.name, shape: spec.shape,
                                       into: UnsafeMutableBufferPointer(rebasing: store.statistics.buffer[spec.range]))
                }
            } catch {
                failure = "--checkpoint \(checkpointPath) does not fit \(model) on \(datasetName): \(error)"
            }
        }
        try Trainer.agree(failure, on: world)
        try world.broadcast(UnsafeMutableRawBufferPointer(store.values.buffer), root: 0)
        try world.broadcast(UnsafeMutableRawBufferPointer(store.statistics.buffer), root: 0)

        var sums = TestSetEvaluation.sums(network: network, shards: [test.augmenter], counts: [test.count],
                                          chunk: batchSize)
        if world.size > 1 { try world.allreduceSum(&sums) }
        return EvaluationReport(model: model, dataset: datasetName, checkpoint: checkpointPath, epoch: Int(epoch), step: Int(step),
                                samples: Int(sums[2]), loss: sums[0] / max(sums[2], 1),
                                error: 1 - sums[1] / max(sums[2], 1))
    }
}

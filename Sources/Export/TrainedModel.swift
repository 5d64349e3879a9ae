import Augmentation
import Checkpoints
import Datasets
import Engine
import Foundation
import Training

/// A trained model ready to run: its card and the network with the trained parameters and running
/// batch-norm statistics (built without dropout sites: it only evaluates).
public struct TrainedModel {
    public let card: ModelCard
    public let network: Network

    /// A model in memory described by `card` (which must name `network`'s architecture and shape).
    public init(card: ModelCard, network: Network) {
        precondition(card.input == network.inputShape && card.classes.count == network.classes, "the card does not fit the network")
        self.card = card
        self.network = network
    }

    /// The newest complete checkpoint in `path` (a run's output directory or its checkpoint
    /// directory), its model built from the run's configuration. `producer` names this program.
    public static func load(checkpoint path: String, producer: String) throws -> TrainedModel {
        let checkpoint: Checkpoint
        do {
            checkpoint = try CheckpointStore.latest(in: URL(fileURLWithPath: path))
        } catch {
            throw ExportError("--checkpoint \(path): \(error)")
        }
        let configuration: TrainingConfiguration
        do {
            configuration = try TrainingConfiguration(checkpoint: checkpoint)
        } catch {
            throw ExportError("\(error)")
        }
        guard let kind = DatasetKind(rawValue: configuration.dataset) else {
            throw ExportError("--checkpoint \(path): the run's dataset '\(configuration.dataset)' is not one this program knows")
        }
        let descriptor: DatasetDescriptor
        if kind.isPhotos {
            // Photographs: the classes the run recorded (its folders) and its --size.
            guard case .array(let recorded)? = checkpoint.info.extra["classes"], !recorded.isEmpty else {
                throw ExportError("--checkpoint \(path): a run on photographs whose checkpoint names no classes")
            }
            let names = recorded.map { if case .string(let name) = $0 { name } else { "?" } }
            descriptor = .photos(kind, classNames: names, size: configuration.size ?? PhotoGeometry.defaultSize,
                                 trainCount: 0, testCount: 0)
        } else {
            descriptor = DatasetDescriptor.of(kind)
        }
        let network = try build(configuration.model, input: TensorShape(channels: descriptor.channels, height: descriptor.height,
                                                                         width: descriptor.width),
                                classes: descriptor.classes, source: "--checkpoint \(checkpoint.directory.path)")
        try restore(network, from: checkpoint.tensorFile, source: "--checkpoint \(checkpoint.directory.path)")
        let card = ModelCard(architecture: configuration.model, classes: descriptor.classNames, input: network.inputShape,
                             mean: descriptor.mean, std: descriptor.std, batchNormEpsilon: batchNormEpsilon(of: network),
                             dataset: configuration.dataset, configuration: checkpoint.info.configuration,
                             epoch: checkpoint.info.epoch, step: checkpoint.info.step, producer: producer)
        return TrainedModel(card: card, network: network)
    }

    /// A model written by `export --format safetensors` (`SafeTensorsExport`).
    public static func load(exported path: String) throws -> TrainedModel {
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ExportError("--model \(path): \(error)"
                + (path.hasSuffix(".onnx") ? " (an ONNX file runs in onnxruntime; give predict the safetensors export)" : ""))
        }
        let card: ModelCard
        do {
            card = try ModelCard(metadata: file.metadata, path: path)
        } catch {
            throw ExportError("--model \(error)")
        }
        let network = try build(card.architecture, input: card.input, classes: card.classes.count, source: "--model \(path)")
        let epsilon = batchNormEpsilon(of: network)
        guard card.batchNormEpsilon == epsilon else {
            throw ExportError("--model \(path): its batch norm has ε = \(card.batchNormEpsilon); this program's \(card.architecture) "
                + "has ε = \(epsilon)")
        }
        try restore(network, from: file, source: "--model \(path)")
        return TrainedModel(card: card, network: network)
    }

    /// `--checkpoint DIR` or `--model FILE`: exactly one of them.
    public static func load(checkpoint: String?, model: String?, producer: String) throws -> TrainedModel {
        switch (checkpoint, model) {
        case let (checkpoint?, nil): try load(checkpoint: checkpoint, producer: producer)
        case let (nil, model?): try load(exported: model)
        default: throw ExportError("give either --checkpoint DIR (a run's checkpoint) or --model FILE (an exported model)")
        }
    }

    private static func build(_ architecture: String, input: TensorShape, classes: Int, source: String) throws -> Network {
        do {
            return try ModelZoo.make(architecture, input: input, classes: classes, seed: 0, dropoutSites: false)
        } catch {
            throw ExportError("\(source): \(error)")
        }
    }

    /// Fills the network's parameters and running statistics from `file`; a tensor missing or of
    /// another shape, or an unusable value, is named with the file.
    private static func restore(_ network: Network, from file: SafeTensorsFile, source: String) throws {
        do {
            try ModelTensors.restoreForEvaluation(network.parameters, from: file)
        } catch let error as ModelTensors.UnusableValue {
            throw ExportError("\(source): \(error)")
        } catch {
            throw ExportError("\(source) does not hold a \(network.name) for \(network.inputShape) images and "
                + "\(network.classes) classes: \(error)")
        }
    }

    /// The ε of the network's batch norms (they share one; 1e-5, PyTorch's default, when it has none).
    static func batchNormEpsilon(of network: Network) -> Float {
        for layer in network.layers {
            if case let .batchNorm(_, _, _, _, epsilon, _, _) = layer.operation { return epsilon }
        }
        return 1e-5
    }
}

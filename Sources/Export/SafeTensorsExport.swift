import Checkpoints
import Foundation
import Training

/// `export --format safetensors`: the model's parameters and running batch-norm statistics under
/// the names a PyTorch `state_dict` of the same module tree has (`conv1.weight`,
/// `layer1.0.bn1.running_mean`, `fc.bias`, …; `python/batchaug_models.py` builds those modules),
/// with the model card as the file's metadata. No momentum, no per-rank statistics: what a user
/// runs the model with, nothing a resumed run needs.
public enum SafeTensorsExport {
    /// The tensors of the file, in the parameter table's order, then the statistics.
    public static func tensors(of model: TrainedModel) throws -> [NamedTensor] {
        let store = model.network.parameters
        return try ModelTensors.parameters(of: store).tensors(from: UnsafeBufferPointer(store.values.buffer))
            + ModelTensors.statistics(of: store).tensors(from: UnsafeBufferPointer(store.statistics.buffer))
    }

    /// Writes the file at `url` (replacing any file there); returns its size and SHA-256.
    @discardableResult
    public static func write(_ model: TrainedModel, to url: URL) throws -> FileDigest {
        try SafeTensorsWriter(tensors: tensors(of: model), metadata: model.card.metadata).write(to: url)
    }
}

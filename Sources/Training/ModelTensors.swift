import Checkpoints
import Engine

/// How the model's flat buffers are named in a checkpoint (the parameter store ↔ named tensors
/// mapping, in one place): parameters under the parameter table's names, their momentum as
/// "momentum/<name>", the running statistics (their mean over ranks) under the statistics table's
/// names, and each rank's own statistics as "rank<r>/<name>".
public struct ModelTensors {
    /// Prepended to every table name.
    public let prefix: String
    public let entries: [(name: String, shape: [Int], range: Range<Int>)]

    public static func parameters(of store: ParameterStore) -> ModelTensors {
        ModelTensors(prefix: "", entries: store.table.map { ($0.name, $0.shape, $0.range) })
    }

    public static func momentum(of store: ParameterStore) -> ModelTensors {
        ModelTensors(prefix: "momentum/", entries: parameters(of: store).entries)
    }

    /// The running statistics: their mean over ranks, or (with `rank`) that rank's own.
    public static func statistics(of store: ParameterStore, rank: Int? = nil) -> ModelTensors {
        ModelTensors(prefix: rank.map { "rank\($0)/" } ?? "", entries: store.statisticsTable.map { ($0.name, $0.shape, $0.range) })
    }

    /// The tensors, copied out of `buffer` (laid out as the table says).
    public func tensors(from buffer: UnsafeBufferPointer<Float>) throws -> [NamedTensor] {
        try entries.map { try NamedTensor(name: prefix + $0.name, shape: $0.shape, copying: UnsafeBufferPointer(rebasing: buffer[$0.range])) }
    }

    /// Fills `buffer` from the checkpoint's tensors; an error names the tensor and the file.
    public func restore(from checkpoint: Checkpoint, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        for entry in entries {
            try checkpoint.restore(prefix + entry.name, shape: entry.shape,
                                   into: UnsafeMutableBufferPointer(rebasing: buffer[entry.range]))
        }
    }

    /// Whether the checkpoint holds these tensors (judged by the first).
    public func isPresent(in checkpoint: Checkpoint) -> Bool {
        guard let first = entries.first else { return true }
        return checkpoint.tensors.contains { $0.name == prefix + first.name }
    }
}

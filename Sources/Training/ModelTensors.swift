import Checkpoints
import Engine
import Foundation

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

    /// Fills `buffer` from the checkpoint's tensors; an error names the tensor and the file. A
    /// NaN or infinite value, or a negative running variance, is refused (`UnusableValue`): such a
    /// model evaluates to NaN and trains to nothing.
    public func restore(from checkpoint: Checkpoint, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        try restore(from: checkpoint.tensorFile, into: buffer)
    }

    /// The same from any safetensors file holding these tensors (an exported model).
    public func restore(from file: SafeTensorsFile, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        for entry in entries {
            let values = UnsafeMutableBufferPointer(rebasing: buffer[entry.range])
            let tensor = try file.tensor(named: prefix + entry.name)
            try tensor.checkShape(entry.shape)
            try tensor.copy(into: values)
            let variance = entry.name.hasSuffix(".running_var")
            if let index = values.firstIndex(where: { !$0.isFinite || (variance && $0 < 0) }) {
                throw UnusableValue(file: file.path, tensor: prefix + entry.name, index: index, count: values.count,
                                    value: values[index])
            }
        }
    }

    /// A model to evaluate from `file` (a checkpoint's tensors or an exported model): its
    /// parameters and running statistics.
    public static func restoreForEvaluation(_ store: ParameterStore, from file: SafeTensorsFile) throws {
        try parameters(of: store).restore(from: file, into: store.values.buffer)
        try statistics(of: store).restore(from: file, into: store.statistics.buffer)
    }

    /// A value no trained model holds: NaN, ±∞, or a negative variance.
    public struct UnusableValue: Error, CustomStringConvertible {
        public let file: String, tensor: String
        public let index: Int, count: Int
        public let value: Float
        public var description: String {
            "\(file): tensor \"\(tensor)\" holds \(value) at element \(index) of \(count) ("
                + (value.isFinite ? "a running variance cannot be negative" : "the values must be finite")
                + "): the model diverged or the file was altered"
        }
    }

    /// Whether the checkpoint holds these tensors (judged by the first).
    public func isPresent(in checkpoint: Checkpoint) -> Bool {
        guard let first = entries.first else { return true }
        return checkpoint.tensors.contains { $0.name == prefix + first.name }
    }
}

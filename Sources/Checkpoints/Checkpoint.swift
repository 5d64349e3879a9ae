import Foundation

/// A checkpoint read from disk: complete, its tensor file matching the recorded size and SHA-256,
/// and every tensor validated.
public struct Checkpoint: Sendable {
    /// The directory it was read from (for `latest`, possibly the `.old` fallback).
    public let directory: URL
    public let info: CheckpointInfo
    /// The tensor file, with its tensors and metadata.
    public let tensorFile: SafeTensorsFile
    /// Newer checkpoint directories that `latest` found but could not use, and why; empty when the
    /// newest one was used. Worth a warning: training resumes from an older state.
    public let passedOver: [CheckpointError]

    public var tensors: [NamedTensor] { tensorFile.tensors }

    /// The tensor named `name`, or a `tensorMissing` error naming the tensor file.
    public func tensor(named name: String) throws -> NamedTensor {
        try tensorFile.tensor(named: name)
    }

    /// Copies the tensor `name` into `destination` (e.g. a layer's slice of the flat parameter
    /// buffer) after checking that it exists, has `shape` and the destination's element type, and
    /// that the destination holds exactly its elements. Errors name the file and the tensor.
    public func restore<T: SafeTensorsElement>(_ name: String, shape: [Int],
                                               into destination: UnsafeMutableBufferPointer<T>) throws {
        let tensor = try tensor(named: name)
        try tensor.checkShape(shape)
        try tensor.copy(into: destination)
    }
}

import Foundation
import JSON

/// What `checkpoint.json` says about a checkpoint: where training stood, what produced it, and the
/// size and SHA-256 of its tensor file.
///
/// The caller fills in the training state (`epoch`, `step`, `ranks`, `model`, `configuration`,
/// `toolVersion`, and anything else in `extra`); `CheckpointStore.write` fills in the fields that
/// describe the files (`tensorFile`, `tensorFileBytes`, `tensorFileSHA256`, `tensorCount`) and
/// sets `complete` last. Keys in the file are snake_case, for readers in Python.
public struct CheckpointInfo: Codable, Equatable, Sendable {
    /// The version of this layout; a reader refuses a newer one. Version 2 adds
    /// `checkpoint.sha256`, the SHA-256 of this file too (see `CheckpointStore.checksumFileName`).
    public static let currentFormatVersion = 2

    public var formatVersion: Int
    /// Epochs completed when the checkpoint was taken (training resumes at this epoch).
    public var epoch: Int
    /// Global optimizer steps completed.
    public var step: Int
    /// The number of ranks that trained (a resume must use the same).
    public var ranks: Int
    /// The model's name, e.g. "resnet20".
    public var model: String
    /// The resolved configuration, as JSON (see `init(encoding:)` and `decodeConfiguration`).
    public var configuration: JSONValue
    /// When the checkpoint was written (ISO 8601, UTC).
    public var created: String
    /// The version of the program that wrote it.
    public var toolVersion: String
    /// Anything else the training loop wants back on resume (e.g. the number of samples seen, the
    /// state of a schedule): not interpreted here.
    public var extra: [String: JSONValue]

    /// The tensor file's name inside the checkpoint directory.
    public var tensorFile: String
    public var tensorFileBytes: Int
    /// Lowercase hexadecimal, as `sha256sum` prints it.
    public var tensorFileSHA256: String
    public var tensorCount: Int
    /// Written only once every file of the checkpoint is durable; a reader refuses `false`.
    public var complete: Bool

    public init(epoch: Int, step: Int, ranks: Int, model: String, configuration: JSONValue,
                toolVersion: String, extra: [String: JSONValue] = [:], created: Date = Date()) {
        formatVersion = Self.currentFormatVersion
        self.epoch = epoch
        self.step = step
        self.ranks = ranks
        self.model = model
        self.configuration = configuration
        self.created = created.ISO8601Format()
        self.toolVersion = toolVersion
        self.extra = extra
        tensorFile = CheckpointStore.tensorFileName
        tensorFileBytes = 0
        tensorFileSHA256 = ""
        tensorCount = 0
        complete = false
    }

    /// The same, with the configuration given as any `Encodable` value (e.g. the training
    /// configuration struct).
    public init(epoch: Int, step: Int, ranks: Int, model: String, encoding configuration: some Encodable,
                toolVersion: String, extra: [String: JSONValue] = [:], created: Date = Date()) throws {
        self.init(epoch: epoch, step: step, ranks: ranks, model: model, configuration: try JSONValue(encoding: configuration),
                  toolVersion: toolVersion, extra: extra, created: created)
    }

    /// The configuration decoded back into the caller's type.
    public func decodeConfiguration<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try configuration.decode(T.self)
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case epoch, step, ranks, model, configuration, created
        case toolVersion = "tool_version"
        case extra
        case tensorFile = "tensor_file"
        case tensorFileBytes = "tensor_file_bytes"
        case tensorFileSHA256 = "tensor_file_sha256"
        case tensorCount = "tensor_count"
        case complete
    }
}

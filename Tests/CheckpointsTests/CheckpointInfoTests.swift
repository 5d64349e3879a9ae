import Checkpoints
import JSON
import Foundation
import Testing

/// A configuration shaped like the training service's: what must survive a checkpoint.
private struct Configuration: Codable, Equatable {
    var model = "resnet20"
    var epochs = 3
    var batchSize = 64
    var lr: Float = 0.1
    var momentum: Double = 0.9
    var seed: UInt64 = 0xFEDC_BA98_7654_3210  // above Int64.max and 2^53: a Double would round it
    var counter: Int64 = -(1 << 62) - 1
    var regime: [String: Float] = ["0": 0.1, "81": 0.01]
    var augment: [String] = ["crop:4", "flip"]
    var ghostBatchSize: Int? = nil
    var nesterov = true
}

@Suite("checkpoint info")
struct CheckpointInfoTests {
    @Test("any Codable configuration round-trips exactly through JSONValue and checkpoint.json text")
    func configurationRoundTrip() throws {
        let configuration = Configuration()
        let info = try CheckpointInfo(epoch: 2, step: 300, ranks: 2, model: "resnet20", encoding: configuration,
                                      toolVersion: "0.1.0", extra: ["samples_seen": .integer(19_200)])
        #expect(try info.decodeConfiguration(Configuration.self) == configuration)
        #expect(info.configuration.objectValue?["seed"] == .unsignedInteger(0xFEDC_BA98_7654_3210))
        #expect(info.configuration.objectValue?["counter"] == .integer(-(1 << 62) - 1))
        #expect(info.configuration.objectValue?["lr"] == .double(0.1))

        let text = try JSONEncoder().encode(info)
        let decoded = try JSONDecoder().decode(CheckpointInfo.self, from: text)
        #expect(decoded == info)
        #expect(try decoded.decodeConfiguration(Configuration.self) == configuration)
    }

    @Test("checkpoint.json uses snake_case keys and an ISO 8601 date")
    func keys() throws {
        let info = CheckpointInfo(epoch: 1, step: 2, ranks: 3, model: "m", configuration: .object([:]),
                                  toolVersion: "v", created: Date(timeIntervalSince1970: 0))
        let object = try JSONValue(parsing: JSONEncoder().encode(info)).objectValue ?? [:]
        #expect(Set(object.keys) == ["format_version", "epoch", "step", "ranks", "model", "configuration", "created",
                                     "tool_version", "extra", "tensor_file", "tensor_file_bytes", "tensor_file_sha256",
                                     "tensor_count", "complete"])
        #expect(object["created"] == .string("1970-01-01T00:00:00Z"))
        #expect(object["format_version"] == .integer(Int64(CheckpointInfo.currentFormatVersion)))
        #expect(object["complete"] == .bool(false))
    }
}

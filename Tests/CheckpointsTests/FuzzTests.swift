@_spi(Testing) import Checkpoints
import Foundation
import JSON
import Testing
import TestSupport

/// Mutated safetensors files and checkpoint.json: an error or a valid result, never a crash.
@Suite("Checkpoints: fuzzed inputs", .serialized)
struct CheckpointsFuzzTests {
    static func validFile() throws -> [UInt8] {
        let tensors = [try NamedTensor(name: "conv.weight", shape: [2, 3], values: [Float](repeating: 0.5, count: 6)),
                       try NamedTensor(name: "bn.running_var", shape: [3], values: [Float(1), 2, 3]),
                       try NamedTensor(name: "steps", shape: [], values: [Int64(7)])]
        let directory = try TemporaryDirectory()
        let url = directory.url("x.safetensors")
        _ = try SafeTensorsWriter(tensors: tensors, metadata: ["format": "test"]).write(to: url)
        return [UInt8](try Data(contentsOf: url))
    }

    @Test("safetensors: header and data", .timeLimit(.minutes(1)))
    func safetensors() throws {
        let valid = try Self.validFile()
        let tried = fuzz("safetensors", valid: [valid]) { bytes in
            let file = try SafeTensorsFile(parsing: bytes, path: "fuzzed.safetensors")
            for tensor in file.tensors { _ = tensor.shape.reduce(1, *) }
        }
        #expect(tried > 100)
    }

    @Test("checkpoint.json", .timeLimit(.minutes(1)))
    func checkpointInfo() throws {
        let output = try TemporaryDirectory()
        let directory = CheckpointStore.directory(in: output.url).standardizedFileURL
        let info = CheckpointInfo(epoch: 2, step: 40, ranks: 2, model: "mlp", configuration: .object(["lr": .number(0.1)]),
                                  toolVersion: "test", extra: ["step_in_epoch": .number(0)])
        try CheckpointStore.write(directory: directory, info: info,
                                  tensors: [try NamedTensor(name: "w", shape: [2], values: [Float(1), 2])])
        // As a version-1 checkpoint (no checkpoint.sha256), so that the mutations reach the decoder.
        try FileManager.default.removeItem(at: directory.appendingPathComponent(CheckpointStore.checksumFileName))
        let json = directory.appendingPathComponent(CheckpointStore.infoFileName)
        var object = try JSONValue(parsing: Data(contentsOf: json)).objectValue!
        object["format_version"] = .integer(1)
        let valid = Array(try JSONValue.object(object).jsonText().utf8)
        let tried = fuzz("checkpoint.json", valid: [valid], seconds: 2) { bytes in
            try Data(bytes).write(to: json)
            _ = try CheckpointStore.read(directory: directory)
        }
        #expect(tried > 50)
    }
}

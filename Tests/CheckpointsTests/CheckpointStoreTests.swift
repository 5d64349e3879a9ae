@_spi(Testing) import Checkpoints
import Foundation
import JSON
import Testing

/// Writes and reads of checkpoint directories, and what is left readable after a crash at each
/// stage of a write or after damage to the files.
@Suite("checkpoint directories")
struct CheckpointStoreTests {
    /// The state after `epoch` epochs: parameters, batch-norm statistics and momentum that differ
    /// from epoch to epoch.
    static func tensors(epoch: Int) throws -> [NamedTensor] {
        let weights: [Float] = (0 ..< 24).map { Float($0) + Float(epoch) / 8 }
        return try [
            NamedTensor(name: "conv1.weight", shape: [2, 1, 3, 4], values: weights),
            NamedTensor(name: "bn1.running_mean", shape: [2], values: [Float(epoch), -1]),
            NamedTensor(name: "bn1.running_var", shape: [2], values: [1, Float(epoch) + 0.5]),
            NamedTensor(name: "momentum/conv1.weight", shape: [2, 1, 3, 4], values: weights.map { $0 / -4 }),
        ]
    }

    static func info(epoch: Int) -> CheckpointInfo {
        CheckpointInfo(epoch: epoch, step: epoch * 100, ranks: 2, model: "tiny",
                       configuration: .object(["lr": .double(0.1), "epochs": .integer(9)]), toolVersion: "test")
    }

    /// Writes the checkpoint of `epoch` into `<output>/checkpoint`.
    @discardableResult
    static func write(epoch: Int, in output: TemporaryDirectory, stoppingAfter stage: CheckpointStore.WriteStage? = nil) throws
        -> CheckpointInfo {
        try CheckpointStore.write(directory: CheckpointStore.directory(in: output.url), info: info(epoch: epoch),
                                  tensors: tensors(epoch: epoch), stoppingAfter: stage)
    }

    @Test("round trip: info, tensors, restore into a flat buffer; only the final directory remains")
    func roundTrip() throws {
        let output = try TemporaryDirectory()
        let written = try Self.write(epoch: 3, in: output)
        #expect(try output.entries() == ["checkpoint"])
        #expect(try output.entries("checkpoint") == ["checkpoint.json", "checkpoint.sha256", "model.safetensors"])
        #expect(written.complete && written.tensorCount == 4 && written.tensorFile == "model.safetensors")
        #expect(written.tensorFileSHA256 == SHA256.hexDigest(of: try output.read("checkpoint/model.safetensors")))

        let checkpoint = try CheckpointStore.read(directory: CheckpointStore.directory(in: output.url))
        #expect(checkpoint.info == written)
        #expect(checkpoint.info.epoch == 3 && checkpoint.info.step == 300 && checkpoint.info.ranks == 2)
        #expect(checkpoint.passedOver.isEmpty)
        for tensor in try Self.tensors(epoch: 3) { #expect(try checkpoint.tensor(named: tensor.name) == tensor) }
        #expect(checkpoint.tensorFile.metadata["epoch"] == "3")

        var flat = [Float](repeating: 0, count: 28)
        try flat.withUnsafeMutableBufferPointer { flat in
            try checkpoint.restore("conv1.weight", shape: [2, 1, 3, 4], into: UnsafeMutableBufferPointer(rebasing: flat[0 ..< 24]))
            try checkpoint.restore("bn1.running_var", shape: [2], into: UnsafeMutableBufferPointer(rebasing: flat[24 ..< 26]))
        }
        #expect(Array(flat[0 ..< 24]) == (0 ..< 24).map { Float($0) + 3.0 / 8 })
        #expect(Array(flat[24 ..< 28]) == [1, 3.5, 0, 0])
    }

    @Test("restore names the file and the tensor when the model does not match")
    func restoreMismatch() throws {
        let output = try TemporaryDirectory()
        try Self.write(epoch: 1, in: output)
        let checkpoint = try CheckpointStore.latest(in: output.url)
        let file = output.url("checkpoint/model.safetensors").standardizedFileURL.path
        var buffer = [Float](repeating: 0, count: 24)
        let missing = checkpointError {
            try buffer.withUnsafeMutableBufferPointer { try checkpoint.restore("conv2.weight", shape: [24], into: $0) }
        }
        #expect(missing?.path == file && missing?.problem == .tensorMissing(tensor: "conv2.weight"))
        let shape = checkpointError {
            try buffer.withUnsafeMutableBufferPointer { try checkpoint.restore("conv1.weight", shape: [4, 1, 3, 2], into: $0) }
        }
        #expect(shape?.problem == .shapeMismatch(tensor: "conv1.weight", expected: [4, 1, 3, 2], actual: [2, 1, 3, 4]))
        #expect(shape?.description.hasPrefix(file) == true)
    }

    @Test("latest accepts the output directory or the checkpoint directory, and a missing one is named")
    func latestPaths() throws {
        let output = try TemporaryDirectory()
        #expect(checkpointError { _ = try CheckpointStore.latest(in: output.url) }?.problem
            == .noCheckpoint(looked: [output.url("checkpoint").standardizedFileURL.path, output.url("checkpoint.old").standardizedFileURL.path]))
        let nowhere = output.url("nowhere")
        #expect(checkpointError { _ = try CheckpointStore.latest(in: nowhere) }?.path == nowhere.path)

        try Self.write(epoch: 4, in: output)
        #expect(try CheckpointStore.latest(in: output.url).info.epoch == 4)
        #expect(try CheckpointStore.latest(in: output.url("checkpoint")).info.epoch == 4)
    }

    @Test("a new checkpoint replaces the previous one")
    func replacement() throws {
        let output = try TemporaryDirectory()
        for epoch in 1 ... 3 { try Self.write(epoch: epoch, in: output) }
        #expect(try output.entries() == ["checkpoint"])
        let checkpoint = try CheckpointStore.latest(in: output.url)
        #expect(checkpoint.info.epoch == 3)
        #expect(try checkpoint.tensor(named: "bn1.running_mean") == Self.tensors(epoch: 3)[1])
    }

    @Test("a crash at any stage of a write leaves the last complete checkpoint readable; the next write cleans up",
          arguments: CheckpointStore.WriteStage.allCases)
    func crashDuringReplacement(stage: CheckpointStore.WriteStage) throws {
        let output = try TemporaryDirectory()
        try Self.write(epoch: 1, in: output)
        try Self.write(epoch: 2, in: output, stoppingAfter: stage)

        let expectedEntries: [String] = switch stage {
        case .tensorFileWritten, .temporaryComplete: ["checkpoint", "checkpoint.tmp-\(getpid())"]
        case .previousMovedAside: ["checkpoint.old", "checkpoint.tmp-\(getpid())"]
        case .newInPlace: ["checkpoint", "checkpoint.old"]
        }
        #expect(try output.entries() == expectedEntries)
        let expectedEpoch = stage == .newInPlace ? 2 : 1
        let before = try output.entries()
        #expect(try CheckpointStore.latest(in: output.url).info.epoch == expectedEpoch)
        #expect(try CheckpointStore.latest(in: output.url("checkpoint")).info.epoch == expectedEpoch)
        #expect(try output.entries() == before, "reading must not change the directory")

        try Self.write(epoch: 3, in: output)
        #expect(try output.entries() == ["checkpoint"])
        #expect(try CheckpointStore.latest(in: output.url).info.epoch == 3)
    }

    @Test("a crash during the first write leaves no checkpoint, never a partial one")
    func crashDuringFirstWrite() throws {
        for stage in [CheckpointStore.WriteStage.tensorFileWritten, .temporaryComplete] {
            let output = try TemporaryDirectory()
            try Self.write(epoch: 1, in: output, stoppingAfter: stage)
            guard case .noCheckpoint? = checkpointError({ _ = try CheckpointStore.latest(in: output.url) })?.problem else {
                Issue.record("\(stage): a temporary directory was taken for a checkpoint")
                continue
            }
        }
    }

    @Test("a temporary directory of another process (a crashed run) is removed by the next write")
    func staleTemporary() throws {
        let output = try TemporaryDirectory()
        try FileManager.default.createDirectory(at: output.url("checkpoint.tmp-999999"), withIntermediateDirectories: false)
        try output.write("checkpoint.tmp-999999/model.safetensors", [1, 2, 3])
        try Self.write(epoch: 1, in: output)
        #expect(try output.entries() == ["checkpoint"])
    }

    @Test("a write that fails keeps the previous checkpoint and leaves no temporary directory")
    func failedWrite() throws {
        let output = try TemporaryDirectory()
        try Self.write(epoch: 1, in: output)
        let w = try NamedTensor(name: "w", shape: [1], values: [Float(0)])
        let error = checkpointError {
            try CheckpointStore.write(directory: CheckpointStore.directory(in: output.url), info: Self.info(epoch: 2), tensors: [w, w])
        }
        guard case .invalidTensor? = error?.problem else {
            Issue.record("expected invalidTensor, got \(String(describing: error))")
            return
        }
        #expect(try output.entries() == ["checkpoint"])
        #expect(try CheckpointStore.latest(in: output.url).info.epoch == 1)
    }

    // MARK: Damage

    /// An output directory with a complete checkpoint of epoch 2 whose files `damage` then changes.
    static func damaged(keepingPrevious: Bool, _ damage: (TemporaryDirectory) throws -> Void) throws -> TemporaryDirectory {
        let output = try TemporaryDirectory()
        try write(epoch: 1, in: output)
        if keepingPrevious {
            try write(epoch: 2, in: output, stoppingAfter: .newInPlace)  // leaves checkpoint.old (epoch 1)
        } else {
            try write(epoch: 2, in: output)
        }
        try damage(output)
        return output
    }

    static func flipByte(_ output: TemporaryDirectory) throws {
        var bytes = try output.read("checkpoint/model.safetensors")
        bytes[bytes.count - 5] ^= 0x10
        try output.write("checkpoint/model.safetensors", bytes)
    }

    /// Rewrites checkpoint.json, and its line of checkpoint.sha256 unless `signed` is false (then
    /// the edit is damage the checksum must catch).
    static func editInfo(_ output: TemporaryDirectory, signed: Bool = true, _ edit: (inout [String: JSONValue]) -> Void) throws {
        var object = try JSONValue(parsing: Data(output.read("checkpoint/checkpoint.json"))).objectValue ?? [:]
        edit(&object)
        let json = Array(try JSONValue.object(object).jsonText().utf8)
        try output.write("checkpoint/checkpoint.json", json)
        guard signed else { return }
        let tensorSHA256 = SHA256.hexDigest(of: try output.read("checkpoint/model.safetensors"))
        try output.write("checkpoint/checkpoint.sha256", Array(CheckpointStore.checksumLines(
            [("checkpoint.json", SHA256.hexDigest(of: json)), ("model.safetensors", tensorSHA256)]).utf8))
    }

    @Test("checkpoint.json is covered by checkpoint.sha256 (sha256sum's format); a version-1 checkpoint without it still reads")
    func infoChecksum() throws {
        let intact = try Self.damaged(keepingPrevious: false) { _ in }
        let sums = String(decoding: try intact.read("checkpoint/checkpoint.sha256"), as: UTF8.self)
        #expect(sums == CheckpointStore.checksumLines([("checkpoint.json", SHA256.hexDigest(of: try intact.read("checkpoint/checkpoint.json"))),
                                                      ("model.safetensors", SHA256.hexDigest(of: try intact.read("checkpoint/model.safetensors")))]))
        // Edited without its checksum: refused, naming the file.
        let edited = try Self.damaged(keepingPrevious: false) { try Self.editInfo($0, signed: false) { $0["epoch"] = .integer(-5) } }
        let checkpoint = edited.url("checkpoint").standardizedFileURL
        let error = checkpointError { _ = try CheckpointStore.read(directory: checkpoint) }
        guard case .checksumMismatch(let file, _, _)? = error?.problem else {
            Issue.record("expected a checksum mismatch, got \(String(describing: error))")
            return
        }
        #expect(file == "checkpoint.json" && "\(error!)".contains("checkpoint.json has SHA-256"))
        // Version 1 (before checkpoint.sha256): read with its tensor file verified.
        let old = try Self.damaged(keepingPrevious: false) { output in
            try Self.editInfo(output) { $0["format_version"] = .integer(1) }
            try FileManager.default.removeItem(at: output.url("checkpoint/checkpoint.sha256"))
        }
        #expect(try CheckpointStore.read(directory: old.url("checkpoint")).info.epoch == 2)
        // Version 2 without it: refused.
        let unsummed = try Self.damaged(keepingPrevious: false) { try FileManager.default.removeItem(at: $0.url("checkpoint/checkpoint.sha256")) }
        let missing = checkpointError { _ = try CheckpointStore.read(directory: unsummed.url("checkpoint")) }
        guard case .incomplete? = missing?.problem else {
            Issue.record("expected incomplete, got \(String(describing: missing))")
            return
        }
        // A malformed checksum file is named.
        let garbled = try Self.damaged(keepingPrevious: false) { try $0.write("checkpoint/checkpoint.sha256", Array("hello\n".utf8)) }
        let bad = checkpointError { _ = try CheckpointStore.read(directory: garbled.url("checkpoint")) }
        guard case .badChecksums? = bad?.problem else {
            Issue.record("expected badChecksums, got \(String(describing: bad))")
            return
        }
    }

    @Test("a damaged tensor file is refused: checksum mismatch, or size mismatch when truncated")
    func damagedTensorFile() throws {
        let output = try Self.damaged(keepingPrevious: false, Self.flipByte)
        let checkpoint = output.url("checkpoint").standardizedFileURL
        let error = checkpointError { _ = try CheckpointStore.read(directory: checkpoint) }
        guard case .checksumMismatch(let file, let recorded, let actual)? = error?.problem else {
            Issue.record("expected a checksum mismatch, got \(String(describing: error))")
            return
        }
        #expect(file == "model.safetensors" && recorded != actual && error?.path == checkpoint.path)
        // No older checkpoint to fall back on: latest reports the one problem.
        #expect(checkpointError { _ = try CheckpointStore.latest(in: output.url) } == error)

        let truncated = try Self.damaged(keepingPrevious: false) { output in
            try output.write("checkpoint/model.safetensors", Array(try output.read("checkpoint/model.safetensors").dropLast(4)))
        }
        guard case .sizeMismatch? = checkpointError({ _ = try CheckpointStore.latest(in: truncated.url) })?.problem else {
            Issue.record("a truncated tensor file was not reported as such")
            return
        }
    }

    @Test("an incomplete checkpoint (no checkpoint.json, or not marked complete) is refused")
    func incomplete() throws {
        let noInfo = try Self.damaged(keepingPrevious: false) { try FileManager.default.removeItem(at: $0.url("checkpoint/checkpoint.json")) }
        guard case .incomplete? = checkpointError({ _ = try CheckpointStore.latest(in: noInfo.url) })?.problem else {
            Issue.record("a checkpoint without checkpoint.json was not refused as incomplete")
            return
        }
        let unmarked = try Self.damaged(keepingPrevious: false) { try Self.editInfo($0) { $0["complete"] = .bool(false) } }
        let error = checkpointError { _ = try CheckpointStore.latest(in: unmarked.url("checkpoint")) }
        #expect(error?.problem == .incomplete(reason: "checkpoint.json does not say \"complete\": true"))
    }

    @Test("when the newest checkpoint is damaged, latest falls back to the complete .old and says why",
          arguments: ["flipped byte", "no checkpoint.json", "not complete"])
    func fallback(damage: String) throws {
        let output = try Self.damaged(keepingPrevious: true) { output in
            switch damage {
            case "flipped byte": try Self.flipByte(output)
            case "no checkpoint.json": try FileManager.default.removeItem(at: output.url("checkpoint/checkpoint.json"))
            default: try Self.editInfo(output) { $0["complete"] = .bool(false) }
            }
        }
        let checkpoint = try CheckpointStore.latest(in: output.url)
        #expect(checkpoint.info.epoch == 1)
        #expect(checkpoint.directory.lastPathComponent == "checkpoint.old")
        #expect(checkpoint.passedOver.count == 1)
        #expect(checkpoint.passedOver.first?.path == output.url("checkpoint").standardizedFileURL.path)
        // Both damaged: every problem is reported.
        try FileManager.default.removeItem(at: output.url("checkpoint.old/checkpoint.json"))
        guard case .noCompleteCheckpoint(let problems)? = checkpointError({ _ = try CheckpointStore.latest(in: output.url) })?.problem else {
            Issue.record("expected noCompleteCheckpoint")
            return
        }
        #expect(problems.count == 2)
    }

    @Test("checkpoint.json: bad JSON, a missing field, a newer format version — each named")
    func badInfo() throws {
        // (Without checkpoint.sha256, as in version 1: with it, the checksum refuses the file first.)
        let garbage = try Self.damaged(keepingPrevious: false) {
            try $0.write("checkpoint/checkpoint.json", Array("{\"format_version\": 1,".utf8))
            try FileManager.default.removeItem(at: $0.url("checkpoint/checkpoint.sha256"))
        }
        let infoPath = garbage.url("checkpoint/checkpoint.json").standardizedFileURL.path
        let error = checkpointError { _ = try CheckpointStore.latest(in: garbage.url) }
        guard case .badJSON? = error?.problem else {
            Issue.record("expected bad JSON, got \(String(describing: error))")
            return
        }
        #expect(error?.path == infoPath)

        let missingField = try Self.damaged(keepingPrevious: false) { try Self.editInfo($0) { $0["step"] = nil } }
        #expect(checkpointError { _ = try CheckpointStore.latest(in: missingField.url) }?.problem
            == .badJSON(reason: "missing field \"step\""))

        let newer = try Self.damaged(keepingPrevious: false) { try Self.editInfo($0) { $0["format_version"] = .integer(99) } }
        #expect(checkpointError { _ = try CheckpointStore.latest(in: newer.url) }?.problem
            == .unsupportedFormatVersion(found: 99, supported: CheckpointInfo.currentFormatVersion))

        let escaping = try Self.damaged(keepingPrevious: false) { try Self.editInfo($0) { $0["tensor_file"] = .string("../x") } }
        guard case .badJSON? = checkpointError({ _ = try CheckpointStore.latest(in: escaping.url) })?.problem else {
            Issue.record("a tensor_file outside the checkpoint directory was accepted")
            return
        }
    }
}

import Foundation

/// Checkpoint directories, written so that a crash at any moment leaves a complete checkpoint
/// readable, and read back with every file verified.
///
/// A checkpoint is a directory (by default `<output>/checkpoint`) holding `model.safetensors` and
/// `checkpoint.json`. Writing goes through siblings of that directory:
///
/// 1. `checkpoint.tmp-<pid>/` receives the tensor file, then `checkpoint.json` with `complete: true`,
///    each fsynced, then the directory itself is fsynced;
/// 2. the previous `checkpoint/` is renamed to `checkpoint.old/`;
/// 3. `checkpoint.tmp-<pid>/` is renamed to `checkpoint/` and the parent directory fsynced;
/// 4. `checkpoint.old/` is deleted.
///
/// So `checkpoint/` is complete whenever it exists, and between steps 2 and 3 the previous one is
/// complete under `checkpoint.old/`: readers (`latest`) use `checkpoint/` if it is complete, else
/// `checkpoint.old/`, and never a temporary directory. Readers change nothing on disk (every rank
/// may read at once); the next write cleans up what a crash left (stale temporaries, a `.old`).
/// Only one process may write into a given parent directory (in training: rank 0).
public enum CheckpointStore {
    /// The checkpoint directory's name inside an output directory.
    public static let directoryName = "checkpoint"
    public static let tensorFileName = "model.safetensors"
    public static let infoFileName = "checkpoint.json"
    /// The SHA-256 of `checkpoint.json` and of the tensor file, as `sha256sum` writes them (so
    /// `sha256sum -c checkpoint.sha256` checks a checkpoint by hand). Format version 2 on; a
    /// version-1 checkpoint has none and is read with only its tensor file verified.
    public static let checksumFileName = "checkpoint.sha256"
    /// Suffix of the previous checkpoint while it is being replaced.
    public static let previousSuffix = ".old"
    /// Infix of the directory being written: `checkpoint.tmp-<pid>`.
    public static let temporaryInfix = ".tmp-"

    /// The checkpoint directory of an output directory: `<output>/checkpoint`.
    public static func directory(in output: URL) -> URL {
        output.appendingPathComponent(directoryName, isDirectory: true)
    }

    /// Writes a checkpoint at `directory`, replacing the one there only once the new one is
    /// complete and durable. Creates the parent directory if needed. Returns the info as written
    /// (with the tensor file's name, size, SHA-256 and count, and `complete`).
    @discardableResult
    public static func write(directory: URL, info: CheckpointInfo, tensors: [NamedTensor]) throws -> CheckpointInfo {
        try write(directory: directory, info: info, tensors: tensors, stoppingAfter: nil)
    }

    /// Reads the checkpoint at exactly `directory`: it must be complete and its tensor file must
    /// match the recorded size and SHA-256.
    public static func read(directory: URL) throws -> Checkpoint {
        try read(directory: directory, passedOver: [])
    }

    /// The last complete checkpoint under `path`, which may be an output directory (holding
    /// `checkpoint/`) or a checkpoint directory itself — what `--resume DIR` accepts. Looks at the
    /// checkpoint, then at its `.old` fallback (left by a crash during replacement, or used when
    /// the newer one is damaged; `Checkpoint.passedOver` then says why). Throws `noCheckpoint` if
    /// neither exists, the one problem if one exists and is unusable, `noCompleteCheckpoint` with
    /// each problem if both are.
    public static func latest(in path: URL) throws -> Checkpoint {
        let candidates: [URL]
        let isCheckpoint = FileSystem.exists(path.appendingPathComponent(infoFileName).path)
            || FileSystem.exists(path.appendingPathComponent(tensorFileName).path)
        if isCheckpoint || !FileSystem.isDirectory(path.path) {
            candidates = [path, previous(of: path)]
        } else {
            let inside = directory(in: path)
            candidates = [inside, previous(of: inside)]
        }
        var problems: [CheckpointError] = []
        for candidate in candidates where FileSystem.exists(candidate.path) {
            do {
                return try read(directory: candidate, passedOver: problems)
            } catch let error as CheckpointError {
                problems.append(error)
            }
        }
        switch problems.count {
        case 0: throw CheckpointError(path: path.path, .noCheckpoint(looked: candidates.map(\.path)))
        case 1: throw problems[0]
        default: throw CheckpointError(path: path.path, .noCompleteCheckpoint(problems: problems))
        }
    }

    /// The points of `write` after which a test can stop it, as a crash would.
    @_spi(Testing) public enum WriteStage: CaseIterable, Sendable {
        /// The temporary directory holds the tensor file but no `checkpoint.json`.
        case tensorFileWritten
        /// The temporary directory is complete; the previous checkpoint is untouched.
        case temporaryComplete
        /// The previous checkpoint is now `.old`; there is no checkpoint under the final name.
        case previousMovedAside
        /// The new checkpoint is in place; `.old` is not yet deleted.
        case newInPlace
    }

    /// `write`, stopped after `stage` as if the process had died there.
    @_spi(Testing)
    @discardableResult
    public static func write(directory: URL, info: CheckpointInfo, tensors: [NamedTensor],
                             stoppingAfter stage: WriteStage?) throws -> CheckpointInfo {
        let directory = directory.standardizedFileURL
        let parent = directory.deletingLastPathComponent()
        let name = directory.lastPathComponent
        let temporary = parent.appendingPathComponent(name + temporaryInfix + "\(getpid())", isDirectory: true)
        let old = previous(of: directory)

        // Tensors are checked (names unique, sizes) before anything on disk changes.
        let writer = try SafeTensorsWriter(tensors: tensors, metadata: [
            "format": "batchaug-dist checkpoint", "model": info.model,
            "epoch": "\(info.epoch)", "step": "\(info.step)", "tool_version": info.toolVersion,
        ])
        if !FileSystem.isDirectory(parent.path) { try FileSystem.makeDirectory(parent.path, intermediates: true) }
        for entry in try FileSystem.contentsOfDirectory(parent.path) where entry.hasPrefix(name + temporaryInfix) {
            try FileSystem.removeTree(parent.appendingPathComponent(entry).path)
        }

        var written = info
        do {
            try FileSystem.makeDirectory(temporary.path)
            let digest = try writer.write(to: temporary.appendingPathComponent(tensorFileName))
            if stage == .tensorFileWritten { return written }

            written.formatVersion = CheckpointInfo.currentFormatVersion
            written.tensorFile = tensorFileName
            written.tensorFileBytes = digest.bytes
            written.tensorFileSHA256 = digest.sha256
            written.tensorCount = tensors.count
            written.complete = true
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let json = try encoder.encode(written) + Data("\n".utf8)
            try FileSystem.writeFile(temporary.appendingPathComponent(infoFileName).path, sync: true) { write in
                try json.withUnsafeBytes { try write($0) }
            }
            let sums = checksumLines([(infoFileName, SHA256.hexDigest(of: [UInt8](json))), (tensorFileName, digest.sha256)])
            try FileSystem.writeFile(temporary.appendingPathComponent(checksumFileName).path, sync: true) { write in
                try Array(sums.utf8).withUnsafeBytes { try write($0) }
            }
            try FileSystem.syncDirectory(temporary.path)
        } catch {
            try? FileSystem.removeTree(temporary.path)  // a failed write (disk full…) leaves nothing behind
            throw error
        }
        if stage == .temporaryComplete { return written }

        // A `.old` beside a checkpoint is left by a crash after step 3: the checkpoint is the newer
        // one and complete. A `.old` alone is left by a crash after step 2: it is the previous
        // checkpoint and stays until the new one is in place.
        if FileSystem.exists(directory.path) {
            if FileSystem.exists(old.path) {
                try FileSystem.removeTree(old.path)
            }
            try FileSystem.rename(directory.path, to: old.path)
        }
        if stage == .previousMovedAside { return written }

        try FileSystem.rename(temporary.path, to: directory.path)
        try FileSystem.syncDirectory(parent.path)
        if stage == .newInPlace { return written }

        if FileSystem.exists(old.path) {
            try FileSystem.removeTree(old.path)
            try FileSystem.syncDirectory(parent.path)
        }
        return written
    }

    /// `<directory>.old`.
    static func previous(of directory: URL) -> URL {
        let directory = directory.standardizedFileURL
        return directory.deletingLastPathComponent()
            .appendingPathComponent(directory.lastPathComponent + previousSuffix, isDirectory: true)
    }

    private static func read(directory: URL, passedOver: [CheckpointError]) throws -> Checkpoint {
        let path = directory.path
        guard FileSystem.isDirectory(path) else {
            if FileSystem.exists(path) { throw CheckpointError(path: path, .io(operation: "read it", reason: "not a directory")) }
            throw CheckpointError(path: path, .missing)
        }
        let infoURL = directory.appendingPathComponent(infoFileName)
        guard FileSystem.exists(infoURL.path) else {
            throw CheckpointError(path: path, .incomplete(reason: "no \(infoFileName): its write did not finish"))
        }
        let infoBytes = try FileSystem.readAll(infoURL.path)
        let sumsURL = directory.appendingPathComponent(checksumFileName)
        let sums = FileSystem.exists(sumsURL.path) ? try checksums(FileSystem.readAll(sumsURL.path), path: sumsURL.path) : nil
        if let sums {
            let actual = SHA256.hexDigest(of: infoBytes)
            guard let recorded = sums[infoFileName] else {
                throw CheckpointError(path: sumsURL.path, .badChecksums(reason: "no SHA-256 of \(infoFileName)"))
            }
            guard recorded == actual else {
                throw CheckpointError(path: path, .checksumMismatch(file: infoFileName, recorded: recorded, actual: actual))
            }
        }
        let info = try decodeInfo(infoBytes, path: infoURL.path)
        if sums == nil && info.formatVersion >= 2 {
            throw CheckpointError(path: path, .incomplete(reason: "no \(checksumFileName), which format version "
                                  + "\(info.formatVersion) writes before it is complete"))
        }
        if let recorded = sums?[info.tensorFile], recorded != info.tensorFileSHA256 {
            throw CheckpointError(path: path, .checksumMismatch(file: info.tensorFile, recorded: recorded, actual: info.tensorFileSHA256))
        }
        guard info.complete else {
            throw CheckpointError(path: path, .incomplete(reason: "\(infoFileName) does not say \"complete\": true"))
        }
        guard !info.tensorFile.isEmpty, !info.tensorFile.contains("/"), info.tensorFile != "..", info.tensorFile != "." else {
            throw CheckpointError(path: infoURL.path, .badJSON(reason: "\"tensor_file\" is not a file name: \"\(info.tensorFile)\""))
        }
        let tensorURL = directory.appendingPathComponent(info.tensorFile)
        let bytes = try FileSystem.readAll(tensorURL.path)
        if bytes.count != info.tensorFileBytes {
            throw CheckpointError(path: path, .sizeMismatch(file: info.tensorFile, recorded: info.tensorFileBytes, actual: bytes.count))
        }
        let sha256 = SHA256.hexDigest(of: bytes)
        if sha256 != info.tensorFileSHA256 {
            throw CheckpointError(path: path, .checksumMismatch(file: info.tensorFile, recorded: info.tensorFileSHA256, actual: sha256))
        }
        let file = try SafeTensorsFile(parsing: bytes, path: tensorURL.path)
        return Checkpoint(directory: directory, info: info, tensorFile: file, passedOver: passedOver)
    }

    /// `checkpoint.sha256`'s text: one "<hex>  <name>" line per file.
    @_spi(Testing) public static func checksumLines(_ files: [(name: String, sha256: String)]) -> String {
        files.map { "\($0.sha256)  \($0.name)\n" }.joined()
    }

    /// The SHA-256 of each file named in `checkpoint.sha256`.
    private static func checksums(_ bytes: [UInt8], path: String) throws -> [String: String] {
        var sums: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 1)
            guard fields.count == 2, fields[0].count == 64, fields[0].allSatisfy(\.isHexDigit) else {
                throw CheckpointError(path: path, .badChecksums(reason: "not a line of sha256sum: \"\(line.prefix(80))\""))
            }
            sums[String(fields[1].drop { $0 == " " || $0 == "*" })] = fields[0].lowercased()
        }
        return sums
    }

    /// Decodes `checkpoint.json`, checking the format version before the fields it implies.
    private static func decodeInfo(_ bytes: [UInt8], path: String) throws -> CheckpointInfo {
        struct Version: Decodable {
            let formatVersion: Int
            enum CodingKeys: String, CodingKey { case formatVersion = "format_version" }
        }
        let data = Data(bytes)
        do {
            let version = try JSONDecoder().decode(Version.self, from: data).formatVersion
            if version > CheckpointInfo.currentFormatVersion || version < 1 {
                throw CheckpointError(path: path, .unsupportedFormatVersion(found: version, supported: CheckpointInfo.currentFormatVersion))
            }
            return try JSONDecoder().decode(CheckpointInfo.self, from: data)
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw CheckpointError(path: path, .badJSON(reason: describe(error)))
        }
    }
}

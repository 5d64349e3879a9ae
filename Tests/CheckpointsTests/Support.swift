import Checkpoints
import Foundation
import Testing

/// A directory under the system's temporary directory, removed when the value is released.
final class TemporaryDirectory {
    let url: URL
    var path: String { url.path }

    init() throws {
        url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("batchaug-checkpoints-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func url(_ relative: String) -> URL { url.appendingPathComponent(relative) }

    func write(_ relative: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: url(relative)) }

    func read(_ relative: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url(relative))) }

    /// The entries of a subdirectory (or of this one), sorted.
    func entries(_ relative: String = "") throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: relative.isEmpty ? path : url(relative).path).sorted()
    }
}

/// Runs `body`, which must throw a `CheckpointError`; returns it (nil, with a recorded issue, if it
/// did not throw one).
func checkpointError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> CheckpointError? {
    do {
        try body()
        Issue.record("no error was thrown", sourceLocation: sourceLocation)
    } catch let error as CheckpointError {
        return error
    } catch {
        Issue.record("not a CheckpointError: \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// A file from a header written by hand and data bytes: the length prefix and the data as given.
func safetensorsFile(header: String, data: [UInt8]) -> [UInt8] {
    let json = Array(header.utf8)
    return (0 ..< 8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * $0)) } + json + data
}

/// Little-endian bytes of floats.
func bytes(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }

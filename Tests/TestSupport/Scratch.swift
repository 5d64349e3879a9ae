import Foundation

/// A fresh path for one test's files, `batchaug-NAME-UUID` in the temporary directory (which
/// `launch/test` points at one directory per run, removed when the run passes). Not created: a
/// run's `--output` must not exist beforehand; callers that need the directory create it.
public func scratchDirectory(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("batchaug-\(name)-\(UUID().uuidString)")
}

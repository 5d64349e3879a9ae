import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock on an output directory, held by the process that writes a run into it (rank
/// 0) for the run's life, so that two runs started together on one `--output` cannot both pass
/// the "already holds a run" check and then interleave their files.
///
/// The lock is `flock` on `OUTPUT/.lock`: the kernel releases it when its holder exits in any way
/// (an error, a signal, `kill -9`, a crash), so a lock left by a dead process is never in the way
/// — a stale lock is one the next run simply takes. The file records the holder's host and pid,
/// for the message that refuses a second run (it stays after the run; only the `flock` counts).
final class RunLock {
    static let fileName = ".lock"
    private let descriptor: Int32

    /// Takes the lock on `directory` (which exists), or throws naming the holder.
    init(directory: URL, option: String) throws {
        let path = directory.appendingPathComponent(Self.fileName).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw TrainingFailure.refused("--\(option) \(directory.path): cannot create \(Self.fileName): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.read(fd).trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw TrainingFailure.refused("--\(option) \(directory.path) is in use by another run"
                + (holder.isEmpty ? "" : " (\(holder))") + ": wait for it to finish, or choose another directory")
        }
        descriptor = fd
        let holder = "process \(getpid()) on \(ProcessInfo.processInfo.hostName), since \(Date().ISO8601Format())\n"
        _ = ftruncate(fd, 0)
        _ = holder.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    private static func read(_ fd: Int32) -> String {
        var bytes = [UInt8](repeating: 0, count: 512)
        let count = pread(fd, &bytes, bytes.count, 0)
        return String(decoding: bytes.prefix(max(count, 0)), as: UTF8.self)
    }

    deinit { close(descriptor) }   // closing the last descriptor releases the flock
}

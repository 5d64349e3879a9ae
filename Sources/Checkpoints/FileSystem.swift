import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few POSIX file operations a crash-safe checkpoint needs, with errors that name the path.
///
/// POSIX rather than FileManager where it matters: `fsync` of files and of directories (so that a
/// rename is durable before the old checkpoint is deleted), and `rename(2)` itself, which is atomic
/// and never falls back to copying.
enum FileSystem {
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The whole file. `missing` if it does not exist.
    static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw failure(path, "open") }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { throw failure(path, "stat") }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw CheckpointError(path: path, .io(operation: "read", reason: "it is a directory"))
        }
        let size = Int(info.st_size)
        var failed: CheckpointError?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = 0
            while count < size {
                let n = read(fd, buffer.baseAddress! + count, size - count)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { failed = failure(path, "read"); break }
                if n == 0 { break }  // shrank while reading: the checks on the contents will say what is wrong
                count += n
            }
        }
        if let failed { throw failed }
        return bytes
    }

    /// Creates (or truncates) `path`, lets `produce` write into it, and with `sync` makes the
    /// contents durable before returning.
    static func writeFile(_ path: String, sync: Bool,
                          _ produce: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw failure(path, "create") }
        var closed = false
        defer { if !closed { close(fd) } }
        try produce { chunk in
            var offset = 0
            while offset < chunk.count {
                let n = write(fd, chunk.baseAddress! + offset, chunk.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { throw failure(path, "write") }
                offset += n
            }
        }
        if sync && fsync(fd) != 0 { throw failure(path, "fsync") }
        closed = true
        if close(fd) != 0 { throw failure(path, "close") }
    }

    /// Makes the entries of a directory (created, renamed or removed files) durable.
    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw failure(path, "open the directory") }
        defer { close(fd) }
        // Some file systems (a few network ones) cannot sync a directory; they order the rename
        // themselves, so EINVAL is not an error.
        if fsync(fd) != 0 && errno != EINVAL { throw failure(path, "fsync the directory") }
    }

    /// Atomic rename; `to` must not be a non-empty directory.
    static func rename(_ from: String, to: String) throws {
        if posixRename(from, to) != 0 { throw failure(from, "rename it to \(to)") }
    }

    static func makeDirectory(_ path: String, intermediates: Bool = false) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: intermediates)
        } catch {
            throw CheckpointError(path: path, .io(operation: "create the directory", reason: reason(error)))
        }
    }

    /// Removes a file or a directory tree; nothing if it does not exist.
    static func removeTree(_ path: String) throws {
        guard exists(path) else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw CheckpointError(path: path, .io(operation: "remove it", reason: reason(error)))
        }
    }

    static func contentsOfDirectory(_ path: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw CheckpointError(path: path, .io(operation: "list the directory", reason: reason(error)))
        }
    }

    /// The error for the failed call that just set `errno`: `missing` for ENOENT.
    private static func failure(_ path: String, _ operation: String) -> CheckpointError {
        let code = errno
        if code == ENOENT { return CheckpointError(path: path, .missing) }
        return CheckpointError(path: path, .io(operation: operation, reason: String(cString: strerror(code))))
    }

    private static func reason(_ error: any Error) -> String {
        if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain, let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return String(cString: strerror(code.rawValue))
        }
        return error.localizedDescription
    }
}

/// `rename(2)`, out of the scope of `FileSystem.rename`.
private func posixRename(_ from: String, _ to: String) -> Int32 { rename(from, to) }

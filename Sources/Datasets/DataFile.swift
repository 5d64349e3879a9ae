#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A dataset file opened for reading at explicit offsets (`pread`), so that a rank can read only
/// its own records. Every byte read is added to the `IOCounters`; every failure becomes a
/// `DatasetError` naming the file.
final class DataFile {
    let path: String
    let size: Int
    private let descriptor: Int32
    private let counters: IOCounters?

    init(path: String, counters: IOCounters?) throws {
        self.path = path
        self.counters = counters
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw DatasetError(path: path, code == ENOENT ? .missingFile : .unreadable(reason: errorText(code)))
        }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let code = errno
            close(fd)
            throw DatasetError(path: path, .unreadable(reason: errorText(code)))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw DatasetError(path: path, .unreadable(reason: "not a regular file"))
        }
        descriptor = fd
        size = Int(status.st_size)
    }

    deinit { close(descriptor) }

    /// Reads `buffer.count` bytes at `offset`, or fewer only at the end of the file; returns how many.
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, base + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw DatasetError(path: path, .unreadable(reason: errorText(code)))
            }
            if n == 0 { break }
            done += n
        }
        counters?.addBytesRead(done)
        return done
    }

    /// Reads exactly `buffer.count` bytes at `offset`; a short read means the file is shorter
    /// than its header says.
    func readExactly(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        let done = try read(at: offset, into: buffer)
        if done < buffer.count {
            throw DatasetError(path: path, .truncated(actual: offset + done, expected: offset + buffer.count))
        }
    }
}

func errorText(_ code: Int32) -> String {
    String(cString: strerror(code))
}

/// Whether a regular file exists at `path`.
func fileExists(_ path: String) -> Bool {
    var status = stat()
    return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
}

/// `directory/name`, without doubling a trailing slash.
func joinPath(_ directory: String, _ name: String) -> String {
    directory.hasSuffix("/") ? directory + name : directory + "/" + name
}

/// Whether a directory exists at `path`.
func directoryExists(_ path: String) -> Bool {
    var status = stat()
    return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
}

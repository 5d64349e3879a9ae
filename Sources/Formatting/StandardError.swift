#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

/// The process's standard error (file descriptor 2), written unbuffered: what is written is out
/// before the next statement, so a message survives an abort or an exit right after it.
public enum StandardError {
    /// The prefix of the program's error messages.
    public static let programName = "batchaug-dist"

    /// Writes `text` as it is (no newline added).
    public static func write(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { systemWrite(2, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Writes "batchaug-dist: `message`" and a newline.
    public static func report(_ message: String) {
        write("\(programName): \(message)\n")
    }
}

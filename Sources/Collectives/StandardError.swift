#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `line` and a newline to file descriptor 2, unbuffered (usable right before an abort).
public func writeStandardError(_ line: String) {
    var bytes = Array(line.utf8)
    bytes.append(0x0a)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
        if written <= 0 { return }
        offset += written
    }
}

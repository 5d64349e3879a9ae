import CMPI

/// A failed MPI call: which call, on which rank, and the text `MPI_Error_string` gives for its code.
public struct MPIError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let code: Int32
    public let rank: Int?
    public let message: String

    public var description: String {
        let origin = rank.map { "rank \($0): " } ?? ""
        return "\(origin)\(call) failed: \(message) (MPI error \(code))"
    }

    /// `MPI_Error_string` for `code`, or a generic text if the code is not one MPI knows.
    public static func text(for code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
        var length: Int32 = 0
        guard MPI_Error_string(code, &buffer, &length) == cmpi_success() else { return "unknown MPI error" }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Throws an `MPIError` unless `code` is `MPI_SUCCESS`.
@inline(__always)
func check(_ code: Int32, _ call: StaticString, rank: Int? = nil) throws {
    if code != cmpi_success() {
        throw MPIError(call: "\(call)", code: code, rank: rank, message: MPIError.text(for: code))
    }
}

/// Non-blocking point-to-point messages between ranks: what the ring all-reduce is written over.
///
/// Messages between one pair of ranks with one tag arrive in the order they were started (MPI's
/// non-overtaking rule). A started operation's buffer must stay valid and untouched until `wait`
/// has returned for it.
public protocol PointToPoint {
    associatedtype Request

    var rank: Int { get }
    var size: Int { get }

    /// Starts sending `bytes` to rank `destination`.
    func startSend(_ bytes: UnsafeRawBufferPointer, to destination: Int, tag: Int32) throws -> Request

    /// Starts receiving exactly `buffer.count` bytes from rank `source` into `buffer`.
    func startReceive(into buffer: UnsafeMutableRawBufferPointer, from source: Int, tag: Int32) throws -> Request

    /// Waits until every request in `requests` has completed.
    func wait(_ requests: inout [Request]) throws
}

extension PointToPoint {
    /// Blocking send.
    public func send(_ bytes: UnsafeRawBufferPointer, to destination: Int, tag: Int32 = 0) throws {
        var requests = [try startSend(bytes, to: destination, tag: tag)]
        try wait(&requests)
    }

    /// Blocking receive.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, from source: Int, tag: Int32 = 0) throws {
        var requests = [try startReceive(into: buffer, from: source, tag: tag)]
        try wait(&requests)
    }
}

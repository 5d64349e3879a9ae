import Collectives
import Foundation

/// N ranks as N threads of one process, connected by FIFO mailboxes: a `PointToPoint` transport
/// for running the ring all-reduce (and anything written over `PointToPoint`) without MPI.
/// Sends are buffered (they copy and complete at once); receives complete in `wait`.
public final class InProcessNetwork: @unchecked Sendable {
    public let size: Int
    private let condition = NSCondition()
    private var queues: [[[UInt8]]]            // [source * size + destination] → FIFO of messages

    public init(size: Int) {
        self.size = size
        queues = Array(repeating: [], count: size * size)
    }

    public func endpoint(rank: Int) -> Endpoint { Endpoint(network: self, rank: rank) }

    fileprivate func post(_ bytes: UnsafeRawBufferPointer, from source: Int, to destination: Int) {
        condition.lock()
        queues[source * size + destination].append(Array(bytes))
        condition.broadcast()
        condition.unlock()
    }

    fileprivate func take(from source: Int, to destination: Int) -> [UInt8] {
        condition.lock()
        defer { condition.unlock() }
        while queues[source * size + destination].isEmpty { condition.wait() }
        return queues[source * size + destination].removeFirst()
    }

    public struct TransportError: Error, CustomStringConvertible {
        public let description: String
    }

    public final class Endpoint: PointToPoint, @unchecked Sendable {
        public enum Request {
            case sent
            case receive(buffer: UnsafeMutableRawBufferPointer, source: Int)
        }

        let network: InProcessNetwork
        public let rank: Int
        public var size: Int { network.size }
        /// Messages sent so far, for tests of the communication pattern.
        public private(set) var messagesSent = 0

        init(network: InProcessNetwork, rank: Int) {
            self.network = network
            self.rank = rank
        }

        public func startSend(_ bytes: UnsafeRawBufferPointer, to destination: Int, tag: Int32) throws -> Request {
            network.post(bytes, from: rank, to: destination)
            messagesSent += 1
            return .sent
        }

        public func startReceive(into buffer: UnsafeMutableRawBufferPointer, from source: Int, tag: Int32) throws -> Request {
            .receive(buffer: buffer, source: source)
        }

        public func wait(_ requests: inout [Request]) throws {
            for request in requests {
                guard case let .receive(buffer, source) = request else { continue }
                let message = network.take(from: source, to: rank)
                guard message.count == buffer.count else {
                    throw TransportError(description: "rank \(rank) expected \(buffer.count) bytes from \(source), got \(message.count)")
                }
                message.withUnsafeBytes { buffer.copyMemory(from: $0) }
            }
            requests.removeAll()
        }
    }

    /// Runs `body(rank)` on `size` threads at once and returns the results in rank order.
    public func run<T>(_ body: @escaping @Sendable (Endpoint) throws -> T) throws -> [T] {
        let results = ResultBox<T>(count: size)
        let group = DispatchGroup()
        for rank in 0 ..< size {
            group.enter()
            let endpoint = endpoint(rank: rank)
            let thread = Thread {
                results.set(rank, Result { try body(endpoint) })
                group.leave()
            }
            thread.start()
        }
        guard group.wait(timeout: .now() + 600) == .success else {
            throw TransportError(description: "in-process ranks did not finish within 600 s (deadlock?)")
        }
        return try results.values.map { try $0!.get() }
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Result<T, Error>?]
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Result<T, Error>) { lock.lock(); storage[index] = value; lock.unlock() }
    var values: [Result<T, Error>?] { lock.lock(); defer { lock.unlock() }; return storage }
}

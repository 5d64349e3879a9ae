/// 64-bit FNV-1a over bytes: a checksum for telling whether ranks hold bit-identical buffers.
public func fnv1a(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return hash
}

/// A rank whose copy of a buffer differs from rank 0's.
public struct ReplicaMismatch: Sendable, Equatable {
    public let rank: Int
    public let checksum: UInt64
    public let rootChecksum: UInt64
}

extension Communicator {
    /// Compares every rank's `bytes` with rank 0's by their FNV-1a checksums: the lowest rank
    /// that differs, or nil when all are identical. Collective; every rank gets the same answer.
    public func firstMismatch(among bytes: UnsafeRawBufferPointer) throws -> ReplicaMismatch? {
        let checksums = try allgather(fnv1a(bytes))
        guard let rank = checksums.firstIndex(where: { $0 != checksums[0] }) else { return nil }
        return ReplicaMismatch(rank: rank, checksum: checksums[rank], rootChecksum: checksums[0])
    }
}

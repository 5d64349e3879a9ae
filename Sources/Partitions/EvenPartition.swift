/// `count` elements cut into `parts` contiguous pieces whose lengths differ by at most one: piece
/// i is `i·count/parts ..< (i+1)·count/parts`. The one copy of this arithmetic: the ring
/// all-reduce cuts a buffer into its segments with it, and the data sets cut a split into the
/// ranks' shards.
public struct EvenPartition: Sendable, Equatable {
    public let count: Int
    public let parts: Int

    public init(count: Int, parts: Int) {
        precondition(count >= 0 && parts > 0, "a partition of \(count) elements into \(parts) parts")
        self.count = count
        self.parts = parts
    }

    /// Piece `part`, which must be in `0 ..< parts`.
    public func range(of part: Int) -> Range<Int> {
        precondition(part >= 0 && part < parts, "part \(part) is not in 0..<\(parts)")
        return (part * count / parts) ..< ((part + 1) * count / parts)
    }

    /// Piece `part` modulo `parts` (any integer, negative ones too): for indices that go round a ring.
    public func range(wrapping part: Int) -> Range<Int> { range(of: ((part % parts) + parts) % parts) }

    /// Every piece's length, in order.
    public var sizes: [Int] { (0 ..< parts).map { range(of: $0).count } }

    /// The shortest piece's length, ⌊count/parts⌋.
    public var smallest: Int { count / parts }
}

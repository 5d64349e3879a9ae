import Partitions
import Testing

@Suite("even partitions")
struct EvenPartitionTests {
    @Test("balanced, disjoint and complete; indices wrap round the ring")
    func partition() {
        for parts in 1 ... 9 {
            for count in [0, 1, 2, 5, 8, 9, 17, 1000, 1_048_579] {
                let p = EvenPartition(count: count, parts: parts)
                let ranges = (0 ..< parts).map { p.range(of: $0) }
                #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == count)
                for i in 1 ..< parts { #expect(ranges[i].lowerBound == ranges[i - 1].upperBound) }
                let sizes = ranges.map(\.count)
                #expect(sizes == p.sizes)
                #expect(sizes.max()! - sizes.min()! <= 1, "count \(count) over \(parts) parts: \(sizes)")
                #expect(p.smallest == sizes.min()!)
                #expect(p.range(wrapping: -1) == ranges[parts - 1] && p.range(wrapping: parts) == ranges[0])
                #expect(p.range(wrapping: -parts - 1) == ranges[parts - 1])
            }
        }
    }
}

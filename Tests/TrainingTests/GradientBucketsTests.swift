import DataParallel
import Engine
import Testing

@Suite("gradient buckets")
struct GradientBucketsTests {
    @Test("buckets cover the gradient from its end, whole parameters, each at least the size but the first layers' rest")
    func layout() throws {
        let network = try ModelZoo.make("resnet20", input: TensorShape(channels: 3, height: 32, width: 32), classes: 10,
                                        seed: 1)
        let count = network.parameters.count
        let ranges = network.gradientRanges
        #expect(Set(ranges.joined()).count == network.parameters.table.count)
        let starts = Set(network.parameters.table.map(\.offset))
        for bytes in [4 << 10, 64 << 10, 256 << 10] {
            let buckets = GradientBuckets(gradientRanges: ranges, count: count, bucketBytes: bytes)
            #expect(buckets.count > 1)
            #expect(buckets.ranges.first?.upperBound == count && buckets.ranges.last?.lowerBound == 0)
            for (a, b) in zip(buckets.ranges, buckets.ranges.dropFirst()) { #expect(b.upperBound == a.lowerBound) }
            for range in buckets.ranges {
                #expect(starts.contains(range.lowerBound), "a bucket starts inside a parameter")
            }
            for range in buckets.ranges.dropLast() { #expect(range.count * 4 >= bytes) }
        }
        for bytes in [0, count * 4, count * 8] {
            #expect(GradientBuckets(gradientRanges: ranges, count: count, bucketBytes: bytes).ranges == [0 ..< count])
        }
    }
}

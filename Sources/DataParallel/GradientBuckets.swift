/// The flat gradient cut into buckets for the all-reduce: contiguous ranges of at least
/// `bucketBytes` each (whole parameters; the one nearest the start of the buffer holds the rest),
/// cut from the end of the buffer — the last layers' parameters, whose gradients backward
/// finishes first. A bucket is ready once every node that writes into it has finished its
/// backward on the step's last ghost batch; it is then all-reduced while backward goes on.
///
/// One bucket (`bucketBytes` 0, or at least the whole gradient) is the whole buffer all-reduced
/// after backward. At 2 ranks every bucketing gives the same bits (each element is a + b); at
/// more ranks the ring adds each bucket's segments in its own order, so the bits depend on the
/// buckets, but are the same on every rank.
public struct GradientBuckets: Sendable, Equatable {
    /// The buckets' ranges of the flat buffer, from its end to its start.
    public let ranges: [Range<Int>]
    /// Per node, the buckets it writes into.
    let bucketsOfNode: [[Int]]
    /// Per bucket, the number of nodes that write into it.
    let writers: [Int]

    /// `gradientRanges[i]`: the ranges node i's backward writes (`Network.gradientRanges`);
    /// together they cover `0 ..< count`.
    public init(gradientRanges: [[Range<Int>]], count: Int, bucketBytes: Int) {
        let bucketElements = bucketBytes / MemoryLayout<Float>.stride
        var ranges: [Range<Int>] = []
        if bucketElements <= 0 || bucketElements >= count {
            ranges = count > 0 ? [0 ..< count] : []
        } else {
            // Cut at parameter boundaries, from the end: a bucket closes once it holds bucketElements.
            let starts = Set(gradientRanges.joined().map(\.lowerBound)).sorted(by: >)
            var upper = count
            for start in starts where start > 0 && upper - start >= bucketElements {
                ranges.append(start ..< upper)
                upper = start
            }
            if upper > 0 { ranges.append(0 ..< upper) }
        }
        self.ranges = ranges
        var bucketsOfNode: [[Int]] = []
        var writers = [Int](repeating: 0, count: ranges.count)
        for nodeRanges in gradientRanges {
            let touched = ranges.indices.filter { b in nodeRanges.contains { $0.overlaps(ranges[b]) } }
            for b in touched { writers[b] += 1 }
            bucketsOfNode.append(touched)
        }
        self.bucketsOfNode = bucketsOfNode
        self.writers = writers
    }

    public var count: Int { ranges.count }

    /// The default bucket size, measured (docs/SCALING.md): small enough that the gradient of the
    /// first layers, all-reduced after backward, is a small part; large enough that the per-call
    /// latency of each all-reduce does not add up.
    public static let defaultBytes = 256 << 10
}

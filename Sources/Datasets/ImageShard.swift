/// One rank's part of one split, in memory: raw pixels as stored on disk (UInt8, record-major,
/// each record C×H×W planar — NCHW) and labels. The augmenter turns them into Float batches; keeping
/// bytes rather than floats holds a CIFAR-10 shard in 150 MB/N instead of 600 MB/N.
public struct ImageShard: Sendable {
    public let descriptor: DatasetDescriptor
    public let split: Split
    /// The indices into the whole split that this shard holds, in order.
    public let globalRange: Range<Int>
    /// Records in the whole split (over all ranks).
    public let totalCount: Int
    /// One label per record, `0 ..< descriptor.classes`.
    public let labels: [Int32]
    private let storage: PixelStorage

    /// Records held here.
    public var count: Int { globalRange.count }
    /// Bytes of one record's pixels.
    public var recordBytes: Int { descriptor.recordBytes }

    /// A shard of records given in memory (tests, generated data). `pixels` holds `count` records
    /// of `descriptor.recordBytes` bytes each; every label must be a class of the descriptor.
    public init(descriptor: DatasetDescriptor, split: Split, globalRange: Range<Int>, totalCount: Int,
                pixels: [UInt8], labels: [Int32]) {
        precondition(pixels.count == globalRange.count * descriptor.recordBytes, "pixels do not fill the records")
        precondition(labels.count == globalRange.count, "one label per record")
        precondition(globalRange.lowerBound >= 0 && globalRange.upperBound <= totalCount)
        precondition(labels.allSatisfy { $0 >= 0 && Int($0) < descriptor.classes }, "labels out of range")
        let storage = PixelStorage(count: pixels.count)
        pixels.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { storage.base.update(from: base, count: source.count) }
        }
        self.init(descriptor: descriptor, split: split, globalRange: globalRange, totalCount: totalCount,
                  storage: storage, labels: labels)
    }

    init(descriptor: DatasetDescriptor, split: Split, globalRange: Range<Int>, totalCount: Int,
         storage: PixelStorage, labels: [Int32]) {
        self.descriptor = descriptor
        self.split = split
        self.globalRange = globalRange
        self.totalCount = totalCount
        self.storage = storage
        self.labels = labels
    }

    /// The pixels of local record `index` (`0 ..< count`): C planes of H rows of W bytes.
    /// Valid as long as this shard (or a copy of it) is alive; never written.
    @inlinable
    public func pixels(of index: Int) -> UnsafeBufferPointer<UInt8> {
        precondition(index >= 0 && index < count, "record \(index) is not in this shard of \(count)")
        return UnsafeBufferPointer(start: pixelBase + index * recordBytes, count: recordBytes)
    }

    /// All pixels of the shard, record after record.
    public var allPixels: UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: pixelBase, count: count * recordBytes)
    }

    /// The first pixel of the first record.
    @usableFromInline
    var pixelBase: UnsafePointer<UInt8> { UnsafePointer(storage.base) }
}

/// The pixel bytes of a shard: one allocation, filled by a loader before the shard is built and
/// never written after, which is why sharing it across threads is safe.
@usableFromInline
final class PixelStorage: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutablePointer<UInt8>
    let count: Int

    init(count: Int) {
        self.count = count
        base = .allocate(capacity: max(count, 1))
        base.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { base.deallocate() }
}

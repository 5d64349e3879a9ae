import Formatting

/// The decoded images of the samples one step uses: `load` reads and decodes each of the step's
/// b samples once, into a buffer of its own (allocated once, grown to the largest image it has
/// held), where the batch augmenter then makes its M copies from. With a cache budget, decoded
/// images are also kept in memory, first come first kept, until the budget is used up: a sample
/// met again is not read or decoded again. A cached image is the bytes a fresh decode gives, so a
/// run with the cache computes exactly what it computes without it.
///
/// Images are decoded reduced for a shorter side of at least `shorterSide` (`ImageDecoder`).
public final class DecodedPhotos {
    public let photos: PhotoShard
    public let shorterSide: Int
    public let decoder: ImageDecoder
    /// Bytes the cache may hold (0: no cache).
    public let cacheBudget: Int
    private let counters: IOCounters?
    private let encoded = ByteBuffer()
    private var slots: [ByteBuffer] = []
    private var images: [RGBImage] = []
    private var loaded: [Int] = []
    private var cache: [Int: (pixels: UnsafeMutablePointer<UInt8>, width: Int, height: Int)] = [:]
    public private(set) var cachedBytes = 0

    public init(photos: PhotoShard, shorterSide: Int, maxPixels: Int = ImageDecoder.defaultMaxPixels, cacheBudget: Int = 0,
                counters: IOCounters? = nil) {
        precondition(shorterSide >= 1 && cacheBudget >= 0)
        self.photos = photos
        self.shorterSide = shorterSide
        decoder = ImageDecoder(maxPixels: maxPixels)
        self.cacheBudget = cacheBudget
        self.counters = counters
    }

    deinit { for entry in cache.values { entry.pixels.deallocate() } }

    /// Images held by the cache.
    public var cachedImages: Int { cache.count }

    /// Reads and decodes local samples `samples` (slot k gets `samples[k]`). The first bad file
    /// throws its `DatasetError`, naming it. `rowsNeeded(slot, height, width)`: how many rows of
    /// the image in slot `slot` (of `height`×`width` decoded) the step reads; a JPEG is decoded
    /// down to there only, unless it goes into the cache, which keeps whole images.
    public func load(_ samples: UnsafeBufferPointer<Int>, rowsNeeded: ((_ slot: Int, _ height: Int, _ width: Int) -> Int)? = nil) throws {
        let clock = ContinuousClock()
        let start = clock.now
        defer { counters?.addDecodeSeconds((clock.now - start).seconds) }
        while slots.count < samples.count { slots.append(ByteBuffer()) }
        if images.count != samples.count {
            images = [RGBImage](repeating: RGBImage(base: slots[0].base, width: 0, height: 0), count: samples.count)
            loaded = [Int](repeating: -1, count: samples.count)
        }
        for (k, sample) in samples.enumerated() {
            loaded[k] = -1
            if let entry = cache[sample] {
                images[k] = RGBImage(base: entry.pixels, width: entry.width, height: entry.height)
            } else {
                let caching = cacheBudget > cachedBytes
                images[k] = try decode(sample, into: slots[k], rowsNeeded: caching ? nil : rowsNeeded.map { need in { need(k, $0, $1) } })
                if caching { keep(sample, images[k]) }
            }
            loaded[k] = sample
        }
    }

    /// Decodes local sample `sample` into `buffer`, without the cache (down to the row
    /// `rowsNeeded(height, width)` gives, if given).
    public func decode(_ sample: Int, into buffer: ByteBuffer, rowsNeeded: ((Int, Int) -> Int)? = nil) throws -> RGBImage {
        let bytes = try photos.read(sample, into: encoded, limit: decoder.maxFileBytes, counters: counters)
        return try decoder.decode(bytes, path: photos.name(of: sample), shorterSide: shorterSide, rowsNeeded: rowsNeeded,
                                  into: buffer)
    }

    /// The image of slot `slot`, which must hold local sample `sample` (from the last `load`).
    @inline(__always)
    public func image(slot: Int, sample: Int) -> RGBImage {
        precondition(loaded[slot] == sample, "sample \(sample) was not loaded into slot \(slot): call load(samples) first")
        return images[slot]
    }

    private func keep(_ sample: Int, _ image: RGBImage) {
        guard cacheBudget > 0, cachedBytes + image.byteCount <= cacheBudget else { return }
        let copy = UnsafeMutablePointer<UInt8>.allocate(capacity: max(image.byteCount, 1))
        copy.update(from: image.base, count: image.byteCount)
        cache[sample] = (copy, image.width, image.height)
        cachedBytes += image.byteCount
    }
}

import Datasets
import Formatting

extension ImageShard {
    /// A rank's validation photographs as fixed-size records: each decoded once, resized and
    /// centre-cropped to the `size`×`size` of its descriptor (`PhotoGeometry`), rounded to bytes —
    /// what torchvision's `Resize` + `CenterCrop` give before `ToTensor` — and kept in memory, so
    /// that every evaluation reads them as it reads CIFAR records. A bad file stops the load with
    /// its `DatasetError`, before training starts.
    public static func decodingValidation(_ photos: PhotoShard, maxPixels: Int = ImageDecoder.defaultMaxPixels,
                                          counters: IOCounters? = nil) throws -> ImageShard {
        let clock = ContinuousClock()
        let start = clock.now
        defer { counters?.addDecodeSeconds((clock.now - start).seconds) }
        let descriptor = photos.descriptor
        let shape = ImageShape(descriptor)
        precondition(shape.height == shape.width && shape.channels == 3)
        let size = shape.height
        let decoded = DecodedPhotos(photos: photos, shorterSide: PhotoGeometry.resizeSide(crop: size), maxPixels: maxPixels,
                                    counters: counters)
        let buffer = ByteBuffer()
        let crop = CentreCrop(size: size)
        var pixels = [UInt8](repeating: 0, count: photos.count * shape.count)
        try pixels.withUnsafeMutableBufferPointer { pixels in
            for sample in 0 ..< photos.count {
                crop.record(of: try decoded.decode(sample, into: buffer), into: pixels.baseAddress! + sample * shape.count)
            }
        }
        let first = photos.globalIndices.first ?? 0
        precondition(photos.globalIndices == Array(first ..< first + photos.count), "validation shards are contiguous")
        return ImageShard(descriptor: descriptor, split: .test, globalRange: first ..< first + photos.count,
                          totalCount: photos.totalCount, pixels: pixels, labels: photos.labels)
    }
}

/// A photograph as a validation record: resized so that its shorter side is
/// `PhotoGeometry.resizeSide(crop: size)`, its centre `size`×`size` taken (one bilinear step,
/// `PhotoGeometry.centreWindow`) and rounded to bytes, planar RGB. Evaluation and `predict` give a
/// model the same values for the same file.
public final class CentreCrop {
    public let size: Int
    private let shape: ImageShape
    private let scratch: ResizeScratch
    private var values: [Float]
    private let (ones, zeros) = ([Float](repeating: 1, count: 3), [Float](repeating: 0, count: 3))

    public init(size: Int) {
        self.size = size
        shape = ImageShape(channels: 3, height: size, width: size)
        scratch = ResizeScratch(height: size, width: size)
        values = [Float](repeating: 0, count: shape.count)
    }

    /// The shorter side to decode a photograph at (at least; the decoder reduces by powers of two).
    public var decodeSide: Int { PhotoGeometry.resizeSide(crop: size) }

    /// Writes `image`'s record (3 × size × size bytes) to `record`.
    public func record(of image: RGBImage, into record: UnsafeMutablePointer<UInt8>) {
        values.withUnsafeMutableBufferPointer { values in
            ImageKernels.resizedCrop(SourceImage(image),
                                     window: PhotoGeometry.centreWindow(height: image.height, width: image.width, size: size),
                                     output: shape, flipped: false, scale: ones, bias: zeros, scratch: scratch,
                                     into: values.baseAddress!)
            for i in 0 ..< shape.count { record[i] = UInt8(min(255, max(0, values[i].rounded()))) }
        }
    }
}

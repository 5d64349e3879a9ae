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
        let scratch = ResizeScratch(height: size, width: size)
        var values = [Float](repeating: 0, count: shape.count)
        var pixels = [UInt8](repeating: 0, count: photos.count * shape.count)
        let (ones, zeros) = ([Float](repeating: 1, count: 3), [Float](repeating: 0, count: 3))
        try values.withUnsafeMutableBufferPointer { values in
            try pixels.withUnsafeMutableBufferPointer { pixels in
                for sample in 0 ..< photos.count {
                    let image = try decoded.decode(sample, into: buffer)
                    ImageKernels.resizedCrop(SourceImage(image),
                                             window: PhotoGeometry.centreWindow(height: image.height, width: image.width, size: size),
                                             output: shape, flipped: false, scale: ones, bias: zeros, scratch: scratch,
                                             into: values.baseAddress!)
                    let record = pixels.baseAddress! + sample * shape.count
                    for i in 0 ..< shape.count { record[i] = UInt8(min(255, max(0, values[i].rounded()))) }
                }
            }
        }
        let first = photos.globalIndices.first ?? 0
        precondition(photos.globalIndices == Array(first ..< first + photos.count), "validation shards are contiguous")
        return ImageShard(descriptor: descriptor, split: .test, globalRange: first ..< first + photos.count,
                          totalCount: photos.totalCount, pixels: pixels, labels: photos.labels)
    }
}

import Augmentation
import Datasets
import Foundation
import Randomness
import Testing
import TestSupport

/// Photographs through the batch augmenter: decoded once per step for M copies, the same copies as
/// records of the same pixels, and validation images resized and centre-cropped.
@Suite("augmenting photographs")
struct PhotoAugmentationTests {
    /// Records of `classes` classes, labels ascending (class-major, as a folder numbers its
    /// samples): the CIFAR-10 copy's first records of each class when it is here, else generated.
    static func records(perClass: Int, classes: Int = 3) throws -> (pixels: [[UInt8]], labels: [Int32]) {
        var pixels: [[UInt8]] = [], labels: [Int32] = []
        if let cifar = sharedCIFAR10Directory {
            let shard = try ImageShard.load(.cifar10, directory: cifar, split: .test)
            for label in 0 ..< classes {
                let chosen = (0 ..< shard.count).filter { shard.labels[$0] == Int32(label) }.prefix(perClass)
                pixels += chosen.map { Array(shard.pixels(of: $0)) }
                labels += chosen.map { shard.labels[$0] }
            }
            return (pixels, labels)
        }
        let shard = try ImageShard.load(.synthetic, split: .train, synthetic: SyntheticSpec(classes: classes, trainCount: perClass * classes))
        for label in 0 ..< classes {
            let chosen = (0 ..< shard.count).filter { shard.labels[$0] == Int32(label) }
            pixels += chosen.map { Array(shard.pixels(of: $0)) }
            labels += chosen.map { shard.labels[$0] }
        }
        return (pixels, labels)
    }

    /// Writes each 3×32×32 planar record as a PNG of `root/train/class<label>/<index>.png` (and the
    /// first of each class into val/), in an order the folder lists them in again.
    static func writeFolder(_ records: (pixels: [[UInt8]], labels: [Int32]), root: String) throws {
        for (index, record) in records.pixels.enumerated() {
            let interleaved = (0 ..< 1024).flatMap { p in [Int(record[p]), Int(record[1024 + p]), Int(record[2048 + p])] }
            let png = ImageFiles.png(interleaved, width: 32, height: 32, colorType: .rgb)
            let number = String(index)
            let name = "class\(records.labels[index])/" + String(repeating: "0", count: 5 - number.count) + number + ".png"
            try ImageFiles.write(png, to: "\(root)/train/\(name)")
            try ImageFiles.write(png, to: "\(root)/val/\(name)")
        }
    }

    @Test("a photograph whose decoded pixels are a record's gets the record's copies, bit for bit (CIFAR copy, or generated records)")
    func sameAsRecords() throws {
        let records = try Self.records(perClass: 6)
        let root = NSTemporaryDirectory() + "batchaug-photo-records-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.writeFolder(records, root: root)
        let dataset = try PhotoDataset(kind: .folder, directory: root, size: 32)
        let shard = ImageShard(descriptor: DatasetDescriptor.of(.cifar10), split: .train, globalRange: 0 ..< records.labels.count,
                               totalCount: records.labels.count, pixels: records.pixels.flatMap { $0 }, labels: records.labels)
        let transforms: [Transform] = [.defaultResizedCrop, .flip, .cutout(holes: 1, side: 8)]
        let normalisation = Normalisation(DatasetDescriptor.of(.cifar10))
        for rank in 0 ..< 2 {
            let photos = try dataset.shards(rank: rank, ranks: 2).train
            let part = ImageShard(descriptor: shard.descriptor, split: .train, globalRange: photos.globalIndices.first! ..< photos.globalIndices.last! + 1,
                                  totalCount: shard.count, pixels: photos.globalIndices.flatMap { records.pixels[$0] },
                                  labels: photos.globalIndices.map { records.labels[$0] })
            let decoded = DecodedPhotos(photos: photos, shorterSide: PhotoGeometry.decodeSide(size: 32, transforms: transforms))
            let fromPhotos = try BatchAugmenter(photographs: decoded, transforms: transforms, seed: 17, normalisation: normalisation)
            let fromRecords = try BatchAugmenter(shard: part, transforms: transforms, seed: 17, normalisation: normalisation)
            let plan = try EpochPlan(photos: photos, ranks: 2, rank: rank, batchSize: 4, seed: 3)
            #expect(plan == (try EpochPlan(shard: part, ranks: 2, rank: rank, batchSize: 4, seed: 3)))
            var a: [Float] = [], b: [Float] = [], la: [Int32] = [], lb: [Int32] = []
            for epoch in 0 ..< 2 {
                let order = plan.order(epoch: epoch)
                for step in 0 ..< plan.stepsPerEpoch {
                    let samples = Array(order[(4 * step) ..< (4 * step + 4)])
                    try samples.withUnsafeBufferPointer { try fromPhotos.prepare(samples: $0, copies: 3, epoch: epoch) }
                    fromPhotos.fill(images: &a, labels: &la, samples: samples, copies: 3, epoch: epoch)
                    fromRecords.fill(images: &b, labels: &lb, samples: samples, copies: 3, epoch: epoch)
                    #expect(a.map(\.bitPattern) == b.map(\.bitPattern), "rank \(rank), epoch \(epoch), step \(step)")
                    #expect(la == lb)
                }
            }
        }
    }

    @Test("decode once per step: the files read do not depend on M; copies differ; the same seed gives the same batch")
    func decodeOnce() throws {
        let root = NSTemporaryDirectory() + "batchaug-photo-once-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        try ImageFiles.folder(at: root, perClass: 4, validationPerClass: 1, width: 96, height: 72)
        let dataset = try PhotoDataset(kind: .folder, directory: root, size: 24)
        var read: [Int] = []
        var batches: [[Float]] = []
        for copies in [1, 8, 8] {
            let counters = IOCounters()
            let photos = try dataset.shards(rank: 0, ranks: 1).train
            let decoded = DecodedPhotos(photos: photos, shorterSide: 24, counters: counters)
            let augmenter = try BatchAugmenter(photographs: decoded, transforms: dataset.descriptor.defaultTransforms, seed: 5,
                                               counters: counters)
            var images: [Float] = [], labels: [Int32] = []
            let samples = [6, 1, 3]
            try samples.withUnsafeBufferPointer { try augmenter.prepare(samples: $0, copies: copies, epoch: 2) }
            augmenter.fill(images: &images, labels: &labels, samples: samples, copies: copies, epoch: 2)
            read.append(counters.bytesRead)
            batches.append(images)
            let expectedLabels: [Int32] = (0 ..< copies).flatMap { (_: Int) -> [Int32] in samples.map { photos.labels[$0] } }
            #expect(labels == expectedLabels)
            #expect(counters.decodeSeconds > 0)
        }
        let files = try [6, 1, 3].map { try FileManager.default.attributesOfItem(atPath: root + "/" + (try ImageFolder(root: root)).train.paths[$0])[.size] as! Int }
        let total = files.reduce(0, +)
        #expect(read == [total, total, total], "each file read once, whatever M")
        let perImage = 3 * 24 * 24
        #expect(batches[1] == batches[2], "the same (seed, epoch, sample, copy): the same copy")
        #expect(Array(batches[1][..<(3 * perImage)]) == batches[0], "copy 0 does not depend on M")
        #expect(batches[1][0 ..< perImage] != batches[1][(3 * perImage) ..< (4 * perImage)], "copies 0 and 1 of a sample differ")
    }

    @Test("validation photographs: resized so that the shorter side is S/0.875, centre S×S, as bytes; the centre window")
    func validation() throws {
        #expect(PhotoGeometry.resizeSide(crop: 224) == 256 && PhotoGeometry.resizeSide(crop: 128) == 146 && PhotoGeometry.resizeSide(crop: 64) == 73)
        #expect(PhotoGeometry.centreWindow(height: 375, width: 500, size: 224) == SourceWindow(top: 23, left: 86, height: 328, width: 328))
        #expect(PhotoGeometry.centreWindow(height: 300, width: 200, size: 64) == SourceWindow(top: 62, left: 12, height: 175, width: 175))
        #expect(PhotoGeometry.decodeSide(size: 128, transforms: [.defaultResizedCrop, .flip]) == 128)
        #expect(PhotoGeometry.decodeSide(size: 128, transforms: [.flip]) == 146)

        let root = NSTemporaryDirectory() + "batchaug-photo-validation-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        // A flat colour stays that colour; a photograph with a vertical band in its middle keeps it centred.
        let flat = [Int](repeating: 0, count: 3 * 50 * 40).enumerated().map { [200, 100, 30][$0.offset % 3] }
        try ImageFiles.write(ImageFiles.png(flat, width: 50, height: 40, colorType: .rgb), to: root + "/train/a/flat.png")
        try ImageFiles.write(ImageFiles.png(flat, width: 50, height: 40, colorType: .rgb), to: root + "/val/a/flat.png")
        var band = [Int](repeating: 0, count: 3 * 90 * 60)
        for y in 0 ..< 60 { for x in 43 ..< 47 { for c in 0 ..< 3 { band[3 * (y * 90 + x) + c] = 255 } } }
        try ImageFiles.write(ImageFiles.png(band, width: 90, height: 60, colorType: .rgb), to: root + "/val/a/band.png")
        let dataset = try PhotoDataset(kind: .folder, directory: root, size: 16)
        let validation = try ImageShard.decodingValidation(try dataset.validation(rank: 0, ranks: 1))
        #expect(validation.count == 2 && validation.descriptor.height == 16 && validation.recordBytes == 3 * 16 * 16)
        let bandRecord = Array(validation.pixels(of: 0)), flatRecord = Array(validation.pixels(of: 1))
        var expectedFlat = [UInt8](repeating: 200, count: 256)
        expectedFlat += [UInt8](repeating: 100, count: 256)
        expectedFlat += [UInt8](repeating: 30, count: 256)
        #expect(flatRecord == expectedFlat)
        for y in 0 ..< 16 {
            let row = bandRecord[(y * 16) ..< (y * 16 + 16)].map(Int.init)
            #expect(row[7] > 150 && row[8] > 150 && row[0] == 0 && row[15] == 0 && row == row.reversed(), "row \(y): \(row)")
        }
    }

    @Test("photographs take rrc or the centre crop; crop=P is refused, naming the entry")
    func transforms() {
        #expect(throws: TransformListError.self) {
            _ = try AugmentationPolicy([.crop(padding: 4), .flip], shape: ImageShape(channels: 3, height: 32, width: 32), photographs: true)
        }
        #expect((try? AugmentationPolicy([.cutout(holes: 1, side: 8), .flip], shape: ImageShape(channels: 3, height: 32, width: 32),
                                          photographs: true)) != nil)
    }

    @Test("the resize kernel is bilinear interpolation with half-pixel centres, whether it enlarges or shrinks the rows")
    func bilinear() {
        let shape = ImageShape(channels: 3, height: 41, width: 37)
        let source: [UInt8] = (0 ..< shape.count).map { (i: Int) -> UInt8 in UInt8((i * 29 + i / 13) % 256) }
        let output = ImageShape(channels: 3, height: 16, width: 19)
        let scratch = ResizeScratch(height: 16, width: 19)
        /// The definition, in Double: source coordinate (i + 0.5)·L/n − 0.5, clamped to the window.
        func taps(_ i: Int, count: Int, start: Int, length: Int) -> (Int, Int, Double) {
            let real = max(0, (Double(i) + 0.5) * Double(length) / Double(count) - 0.5)
            let low = min(Int(real), length - 1)
            return (start + low, start + min(low + 1, length - 1), real - Double(low))
        }
        var random = CounterRNG(seed: 8, stream: (0, 0, 0))
        var shrinking = 0
        for _ in 0 ..< 60 {
            let window = AugmentationPolicy.drawResizedWindow(shape: shape, scale: 0.05 ... 1, ratio: 0.5 ... 2, using: &random)
            let flipped = random.next32() & 1 == 1
            if window.height > output.height { shrinking += 1 }
            var result = [Float](repeating: 0, count: output.count)
            source.withUnsafeBufferPointer {
                ImageKernels.resizedCrop(SourceImage(planar: $0.baseAddress!, shape: shape), window: window, output: output,
                                         flipped: flipped, scale: [1, 1, 1], bias: [0, 0, 0], scratch: scratch, into: &result)
            }
            var worst = 0.0
            for c in 0 ..< 3 {
                for y in 0 ..< 16 {
                    let (y0, y1, wy) = taps(y, count: 16, start: window.top, length: window.height)
                    for x in 0 ..< 19 {
                        let (x0, x1, wx) = taps(flipped ? 18 - x : x, count: 19, start: window.left, length: window.width)
                        func at(_ y: Int, _ x: Int) -> Double { Double(source[c * shape.planeCount + y * 37 + x]) }
                        let top: Double = at(y0, x0) + wx * (at(y0, x1) - at(y0, x0))
                        let bottom: Double = at(y1, x0) + wx * (at(y1, x1) - at(y1, x0))
                        let expected: Double = top + wy * (bottom - top)
                        worst = max(worst, abs(Double(result[c * 304 + y * 19 + x]) - expected))
                    }
                }
            }
            #expect(worst < 2e-3, "\(window), flipped \(flipped): off by \(worst)")
        }
        #expect(shrinking > 10, "windows of more rows than the output were drawn")
    }

    @Test("the resize kernel reads a planar record and its interleaved copy alike, to the bit")
    func layouts() {
        let shape = ImageShape(channels: 3, height: 20, width: 28)
        let planar: [UInt8] = (0 ..< shape.count).map { (i: Int) -> UInt8 in UInt8((i * 31 + i / 7) % 256) }
        var interleaved: [UInt8] = []
        for p in 0 ..< shape.planeCount {
            for c in 0 ..< 3 { interleaved.append(planar[c * shape.planeCount + p]) }
        }
        let output = ImageShape(channels: 3, height: 17, width: 23)
        let scratch = ResizeScratch(height: 17, width: 23)
        var random = CounterRNG(seed: 1, stream: (0, 0, 0))
        for _ in 0 ..< 50 {
            let window = AugmentationPolicy.drawResizedWindow(shape: shape, scale: 0.08 ... 1, ratio: 0.5 ... 2, using: &random)
            let flipped = random.next32() & 1 == 1
            var a = [Float](repeating: 0, count: output.count), b = a
            planar.withUnsafeBufferPointer { source in
                ImageKernels.resizedCrop(SourceImage(planar: source.baseAddress!, shape: shape), window: window, output: output,
                                         flipped: flipped, scale: [1, 2, 3], bias: [0, -1, 1], scratch: scratch, into: &a)
            }
            interleaved.withUnsafeBufferPointer { source in
                ImageKernels.resizedCrop(SourceImage(RGBImage(base: source.baseAddress!, width: 28, height: 20)), window: window,
                                         output: output, flipped: flipped, scale: [1, 2, 3], bias: [0, -1, 1], scratch: scratch, into: &b)
            }
            #expect(a.map(\.bitPattern) == b.map(\.bitPattern), "\(window)")
        }
    }
}

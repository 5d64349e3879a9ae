import Augmentation
import Randomness
import Testing

/// The deterministic cores of the transforms on tiny images with known outputs.
@Suite("transform kernels")
struct ImageKernelTests {
    /// Outputs equal to the raw pixel values: mean 0, std 1/255.
    static func identity(_ channels: Int) -> Normalisation {
        Normalisation(mean: [Float](repeating: 0, count: channels), std: [Float](repeating: 1 / 255, count: channels))
    }

    /// Runs `body` on a source image and returns the Float output, rounded to integers.
    static func run(_ source: [UInt8], _ shape: ImageShape,
                    _ body: (UnsafePointer<UInt8>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        var output = [Float](repeating: .nan, count: shape.count)
        source.withUnsafeBufferPointer { s in output.withUnsafeMutableBufferPointer { body(s.baseAddress!, $0.baseAddress!) } }
        return output.map { ($0 * 1000).rounded() / 1000 }
    }

    // 1 channel, 3 rows, 4 columns:
    //   1  2  3  4
    //   5  6  7  8
    //   9 10 11 12
    static let image: [UInt8] = Array(1 ... 12)
    static let shape = ImageShape(channels: 1, height: 3, width: 4)

    @Test("crop at a given offset: the window moves, zero pixels fill what leaves the image")
    func cropOffset() {
        let out = Self.run(Self.image, Self.shape) {
            ImageKernels.crop($0, shape: Self.shape, top: -1, left: 2, flipped: false, normalisation: Self.identity(1), into: $1)
        }
        #expect(out == [0, 0, 0, 0,
                        3, 4, 0, 0,
                        7, 8, 0, 0])
        let down = Self.run(Self.image, Self.shape) {
            ImageKernels.crop($0, shape: Self.shape, top: 1, left: -1, flipped: false, normalisation: Self.identity(1), into: $1)
        }
        #expect(down == [0, 5, 6, 7,
                         0, 9, 10, 11,
                         0, 0, 0, 0])
        let plain = Self.run(Self.image, Self.shape) {
            ImageKernels.crop($0, shape: Self.shape, top: 0, left: 0, flipped: false, normalisation: Self.identity(1), into: $1)
        }
        #expect(plain == Self.image.map(Float.init))
        let outside = Self.run(Self.image, Self.shape) {
            ImageKernels.crop($0, shape: Self.shape, top: 0, left: 4, flipped: true, normalisation: Self.identity(1), into: $1)
        }
        #expect(outside == [Float](repeating: 0, count: 12))
    }

    @Test("flip mirrors each row; with an offset it mirrors the cropped window")
    func flip() {
        let out = Self.run(Self.image, Self.shape) {
            ImageKernels.crop($0, shape: Self.shape, top: 0, left: 0, flipped: true, normalisation: Self.identity(1), into: $1)
        }
        #expect(out == [4, 3, 2, 1,
                        8, 7, 6, 5,
                        12, 11, 10, 9])
        let shifted = Self.run(Self.image, Self.shape) {
            ImageKernels.crop($0, shape: Self.shape, top: 0, left: 1, flipped: true, normalisation: Self.identity(1), into: $1)
        }
        // The window is columns 1…4 (column 4 is padding): 2 3 4 0, mirrored.
        #expect(shifted == [0, 4, 3, 2,
                            0, 8, 7, 6,
                            0, 12, 11, 10])
    }

    @Test("normalisation per channel: (pixel/255 − mean)/std; padding is the normalised zero pixel")
    func normalisation() {
        let shape = ImageShape(channels: 2, height: 1, width: 2)
        let normalisation = Normalisation(mean: [0.5, 0.25], std: [0.25, 0.5])
        let out = Self.run([255, 0, 51, 102], shape) {
            ImageKernels.crop($0, shape: shape, top: 0, left: 1, flipped: false, normalisation: normalisation, into: $1)
        }
        #expect(out == [-2, -2, 0.3, -0.5])
    }

    @Test("cutout zeroes a side×side square in every channel, clipped at the borders")
    func cutout() {
        let shape = ImageShape(channels: 2, height: 4, width: 4)
        var output = [Float](repeating: 1, count: shape.count)
        output.withUnsafeMutableBufferPointer {
            ImageKernels.cutout($0.baseAddress!, shape: shape, centerY: 2, centerX: 1, side: 2)
        }
        let plane: [Float] = [1, 1, 1, 1,
                              0, 0, 1, 1,
                              0, 0, 1, 1,
                              1, 1, 1, 1]
        #expect(output == plane + plane)
        output = [Float](repeating: 1, count: shape.count)
        output.withUnsafeMutableBufferPointer {
            ImageKernels.cutout($0.baseAddress!, shape: shape, centerY: 0, centerX: 3, side: 3)
        }
        let corner: [Float] = [1, 1, 0, 0,
                               1, 1, 0, 0,
                               1, 1, 1, 1,
                               1, 1, 1, 1]
        #expect(output == corner + corner)
    }

    @Test("resized crop: the whole image is the identity; a 2×2 window upsamples bilinearly; flip mirrors")
    func resizedCrop() {
        let scratch = ResizeScratch(height: 3, width: 4)
        let whole = Self.run(Self.image, Self.shape) {
            ImageKernels.resizedCrop($0, shape: Self.shape, window: SourceWindow(top: 0, left: 0, height: 3, width: 4),
                                     flipped: false, normalisation: Self.identity(1), scratch: scratch, into: $1)
        }
        #expect(whole == Self.image.map(Float.init))

        let shape = ImageShape(channels: 1, height: 4, width: 4)
        let source: [UInt8] = [0, 100, 0, 0,
                               200, 40, 0, 0,
                               0, 0, 0, 0,
                               0, 0, 0, 0]
        let scratch4 = ResizeScratch(height: 4, width: 4)
        let window = SourceWindow(top: 0, left: 0, height: 2, width: 2)
        let up = Self.run(source, shape) {
            ImageKernels.resizedCrop($0, shape: shape, window: window, flipped: false, normalisation: Self.identity(1),
                                     scratch: scratch4, into: $1)
        }
        // Half-pixel centres: output i samples source (i + 0.5)/2 − 0.5, clamped: 0, 0.25, 0.75, 1.
        let row0: [Float] = [0, 25, 75, 100], row1: [Float] = [200, 160, 80, 40]
        func mix(_ w: Float) -> [Float] { zip(row0, row1).map { $0 + w * ($1 - $0) } }
        #expect(up == [row0, mix(0.25), mix(0.75), row1].flatMap { $0 })
        let mirrored = Self.run(source, shape) {
            ImageKernels.resizedCrop($0, shape: shape, window: window, flipped: true, normalisation: Self.identity(1),
                                     scratch: scratch4, into: $1)
        }
        #expect(mirrored == [row0, mix(0.25), mix(0.75), row1].flatMap { $0.reversed() })
    }

    @Test("random-resized-crop windows lie inside the image with area and ratio in range; impossible ratios fall back to the centre")
    func resizedWindows() {
        let shape = ImageShape(channels: 3, height: 32, width: 32)
        var random = CounterRNG(seed: 3, stream: (0, 0, 0))
        var areas: [Float] = []
        for _ in 0 ..< 2000 {
            let w = AugmentationPolicy.drawResizedWindow(shape: shape, scale: 0.08 ... 1, ratio: 0.75 ... Float(4.0 / 3.0), using: &random)
            #expect(w.top >= 0 && w.left >= 0 && w.top + w.height <= 32 && w.left + w.width <= 32)
            let area = Float(w.height * w.width) / 1024
            areas.append(area)
            #expect(area >= 0.05 && area <= 1.0)
            let ratio = Float(w.width) / Float(w.height)
            #expect(ratio >= 0.5 && ratio <= 2, "\(w)")
        }
        #expect(areas.min()! < 0.15 && areas.max()! > 0.85, "areas span the range")
        let fallback = AugmentationPolicy.drawResizedWindow(shape: shape, scale: 1 ... 1, ratio: 3 ... 4, using: &random)
        #expect(fallback == SourceWindow(top: 10, left: 0, height: 11, width: 32))
    }
}

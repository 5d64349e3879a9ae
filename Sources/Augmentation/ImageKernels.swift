import Datasets

/// Per-channel normalisation folded into one multiply-add on the raw byte:
/// (pixel/255 − mean) / std = pixel · scale + bias.
public struct Normalisation: Sendable, Equatable {
    public let scale: [Float]
    public let bias: [Float]

    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == std.count && std.allSatisfy { $0 > 0 })
        scale = std.map { 1 / (255 * $0) }
        bias = zip(mean, std).map { -$0 / $1 }
    }

    public init(_ descriptor: DatasetDescriptor) { self.init(mean: descriptor.mean, std: descriptor.std) }

    /// The identity on pixel/255 (mean 0, std 1): outputs are pixel/255. For tests.
    public static func unit(channels: Int) -> Normalisation {
        Normalisation(mean: [Float](repeating: 0, count: channels), std: [Float](repeating: 1, count: channels))
    }
}

/// The geometry of one image: C planes of H rows of W values.
public struct ImageShape: Sendable, Equatable {
    public let channels: Int
    public let height: Int
    public let width: Int

    public init(channels: Int, height: Int, width: Int) {
        precondition(channels > 0 && height > 0 && width > 0)
        self.channels = channels
        self.height = height
        self.width = width
    }

    public init(_ descriptor: DatasetDescriptor) {
        self.init(channels: descriptor.channels, height: descriptor.height, width: descriptor.width)
    }

    public var planeCount: Int { height * width }
    public var count: Int { channels * height * width }
}

/// Bytes of an image to read from: `channels` planes of `height` rows of `width` values, the value
/// of (c, y, x) at `base + c·channelStride + y·rowStride + x·pixelStride` — a dataset's planar
/// records (strides H·W, W, 1) and decoded RGB photographs (strides 1, 3W, 3) alike.
public struct SourceImage {
    public let base: UnsafePointer<UInt8>
    public let channels: Int
    public let height: Int
    public let width: Int
    public let channelStride: Int
    public let rowStride: Int
    public let pixelStride: Int

    /// A record of `shape`, C×H×W planar.
    public init(planar base: UnsafePointer<UInt8>, shape: ImageShape) {
        self.base = base
        (channels, height, width) = (shape.channels, shape.height, shape.width)
        (channelStride, rowStride, pixelStride) = (shape.planeCount, shape.width, 1)
    }

    /// A decoded photograph, RGB interleaved.
    public init(_ image: RGBImage) {
        base = image.base
        (channels, height, width) = (3, image.height, image.width)
        (channelStride, rowStride, pixelStride) = (1, 3 * image.width, 3)
    }
}

/// A rectangle of the source image, in source pixel coordinates. For `crop` it has the image's
/// size and may stick out of the image by up to the padding (those pixels read as zero); for
/// `rrc` it lies inside the image and is resized to the image's size.
public struct SourceWindow: Sendable, Equatable {
    public var top: Int
    public var left: Int
    public var height: Int
    public var width: Int

    public init(top: Int, left: Int, height: Int, width: Int) {
        self.top = top
        self.left = left
        self.height = height
        self.width = width
    }
}

/// The deterministic cores of the transforms, separate from the random draws so that each can be
/// tested on tiny images with known parameters. Each writes normalised Floats straight into the
/// batch: the window (crop, or resized crop) and the flip are one pass that reads every output
/// pixel's source byte once; cutout then zeroes its squares in the output. No allocation.
public enum ImageKernels {
    /// Writes the H×W window at (`top`, `left`) of the zero-padded source, mirrored left–right if
    /// `flipped`, normalised, into `output` (C×H×W Floats):
    /// output[c][y][x] = norm_c(source[c][top + y][left + x′]) with x′ = flipped ? W−1−x : x,
    /// and norm_c(0) where the window leaves the image. `top = left = 0`, not flipped, is the
    /// plain normalised copy.
    public static func crop(_ source: UnsafePointer<UInt8>, shape: ImageShape, top: Int, left: Int, flipped: Bool,
                            normalisation: Normalisation, into output: UnsafeMutablePointer<Float>) {
        let (height, width) = (shape.height, shape.width)
        // Columns x whose source column lies inside the image.
        let first = flipped ? max(0, left) : max(0, -left)
        let end = flipped ? min(width, left + width) : min(width, width - left)
        for c in 0 ..< shape.channels {
            let scale = normalisation.scale[c], zero = normalisation.bias[c]
            let plane = source + c * shape.planeCount
            let out = output + c * shape.planeCount
            for y in 0 ..< height {
                let row = out + y * width
                let sourceY = top + y
                guard sourceY >= 0 && sourceY < height && first < end else {
                    row.update(repeating: zero, count: width)
                    continue
                }
                if first > 0 { row.update(repeating: zero, count: first) }
                if end < width { (row + end).update(repeating: zero, count: width - end) }
                if flipped {
                    // source column = left + width − 1 − x
                    let sourceRow = plane + sourceY * width + left + width - 1
                    for x in first ..< end { row[x] = Float(sourceRow[-x]) * scale + zero }
                } else {
                    let sourceRow = plane + sourceY * width + left
                    for x in first ..< end { row[x] = Float(sourceRow[x]) * scale + zero }
                }
            }
        }
    }

    /// Resizes `window` (inside the source) to the image's size with bilinear interpolation
    /// (half-pixel centres, edges clamped: PyTorch's `interpolate(mode: "bilinear",
    /// align_corners: false)` on the cropped image), mirrored if `flipped`, normalised, into
    /// `output`. `scratch` holds the per-row and per-column interpolation tables.
    public static func resizedCrop(_ source: UnsafePointer<UInt8>, shape: ImageShape, window: SourceWindow, flipped: Bool,
                                   normalisation: Normalisation, scratch: ResizeScratch,
                                   into output: UnsafeMutablePointer<Float>) {
        resizedCrop(SourceImage(planar: source, shape: shape), window: window, output: shape, flipped: flipped,
                    scale: normalisation.scale, bias: normalisation.bias, scratch: scratch, into: output)
    }

    /// The same for a source of any size and layout (`SourceImage`), resized to `shape`: each
    /// output value is the interpolated byte value times `scale[c]` plus `bias[c]` (a
    /// `Normalisation`'s, or 1 and 0 for the plain value).
    public static func resizedCrop(_ source: SourceImage, window: SourceWindow, output shape: ImageShape, flipped: Bool,
                                   scale: [Float], bias: [Float], scratch: ResizeScratch,
                                   into output: UnsafeMutablePointer<Float>) {
        let (height, width) = (shape.height, shape.width)
        precondition(source.channels == shape.channels && scale.count == shape.channels && bias.count == shape.channels)
        precondition(window.top >= 0 && window.left >= 0 && window.height >= 1 && window.width >= 1
            && window.top + window.height <= source.height && window.left + window.width <= source.width,
                     "window outside the image")
        precondition(scratch.height >= height && scratch.width >= width, "scratch too small")
        precondition(shape.channels <= ResizeScratch.maxChannels, "at most \(ResizeScratch.maxChannels) channels")
        fillTable(scratch.rows, weights: scratch.rowWeights, count: height, windowStart: window.top,
                  windowLength: window.height, stride: source.rowStride, mirrored: false)
        if window.height > height {
            shrinkingRows(source, window: window, output: shape, flipped: flipped, scale: scale, bias: bias, scratch: scratch,
                          into: output)
            return
        }
        fillTable(scratch.columns, weights: scratch.columnWeights, count: width, windowStart: window.left,
                  windowLength: window.width, stride: source.pixelStride, mirrored: flipped)
        // Separable: each source row the window needs is interpolated across once (all channels),
        // into one of two row buffers (consecutive output rows share source rows when enlarging);
        // each output row is then a blend of two such rows, contiguous and vectorised. The
        // arithmetic is the direct formula's, value for value.
        let channels = shape.channels
        let rows = scratch.rows, rowWeights = scratch.rowWeights
        let columns = scratch.columns, columnWeights = scratch.columnWeights
        let buffers = (scratch.upper, scratch.lower)
        var keys = (-1, -1)
        func across(_ offset: Int, keeping other: Int) -> UnsafeMutablePointer<Float> {
            if keys.0 == offset { return buffers.0 }
            if keys.1 == offset { return buffers.1 }
            let target: UnsafeMutablePointer<Float>
            if keys.0 != other { (target, keys.0) = (buffers.0, offset) } else { (target, keys.1) = (buffers.1, offset) }
            let line = source.base + offset
            if channels == 3 && source.channelStride == 1 {
                // Interleaved RGB: one pair of table entries for the three channels.
                let red = target, green = target + width, blue = target + 2 * width
                for x in 0 ..< width {
                    let p = line + columns[2 &* x], q = line + columns[2 &* x &+ 1], wx = columnWeights[x]
                    let r = Float(p[0]), g = Float(p[1]), b = Float(p[2])
                    red[x] = r + wx * (Float(q[0]) - r)
                    green[x] = g + wx * (Float(q[1]) - g)
                    blue[x] = b + wx * (Float(q[2]) - b)
                }
                return target
            }
            for c in 0 ..< channels {
                let plane = line + c &* source.channelStride, out = target + c &* width
                for x in 0 ..< width {
                    let a = Float(plane[columns[2 &* x]]), b = Float(plane[columns[2 &* x &+ 1]])
                    out[x] = a + columnWeights[x] * (b - a)
                }
            }
            return target
        }
        for y in 0 ..< height {
            let upper = across(rows[2 * y], keeping: rows[2 * y + 1])
            let lower = across(rows[2 * y + 1], keeping: rows[2 * y])
            let wy = rowWeights[y]
            for c in 0 ..< channels {
                let scale = scale[c], zero = bias[c]
                let top = upper + c * width, bottom = lower + c * width
                let row = output + c * shape.planeCount + y * width
                for x in 0 ..< width { row[x] = (top[x] + wy * (bottom[x] - top[x])) * scale + zero }
            }
        }
    }

    /// `resizedCrop` for a window of more rows than the output: every output row needs two source
    /// rows of its own, so the rows are blended first (the window's width, contiguous, vectorised)
    /// and the blend interpolated across once — half the scalar work of interpolating both rows
    /// across. The row tables are filled; the blend is rows-then-columns, so its values may differ
    /// from the other order's in the last bit (the choice depends on the window and size alone).
    private static func shrinkingRows(_ source: SourceImage, window: SourceWindow, output shape: ImageShape, flipped: Bool,
                                      scale: [Float], bias: [Float], scratch: ResizeScratch,
                                      into output: UnsafeMutablePointer<Float>) {
        let (height, width, channels) = (shape.height, shape.width, shape.channels)
        let interleaved = source.channelStride == 1 && source.pixelStride == channels
        // Offsets into the blended row: interleaved like the source, or one plane per channel.
        fillTable(scratch.columns, weights: scratch.columnWeights, count: width, windowStart: 0, windowLength: window.width,
                  stride: interleaved ? channels : 1, mirrored: flipped)
        let span = window.width
        let blend = scratch.blend(count: channels * span)
        let rows = scratch.rows, rowWeights = scratch.rowWeights
        let columns = scratch.columns, columnWeights = scratch.columnWeights
        let left = source.base + window.left * source.pixelStride
        let channelStep = interleaved ? 1 : span
        for y in 0 ..< height {
            let upper = left + rows[2 &* y], lower = left + rows[2 &* y &+ 1], wy = rowWeights[y]
            if interleaved {
                for i in 0 ..< channels &* span {
                    let a = Float(upper[i])
                    blend[i] = a + wy * (Float(lower[i]) - a)
                }
            } else {
                for c in 0 ..< channels {
                    let top = upper + c &* source.channelStride, bottom = lower + c &* source.channelStride
                    let plane = blend + c &* span
                    for i in 0 ..< span {
                        let a = Float(top[i &* source.pixelStride])
                        plane[i] = a + wy * (Float(bottom[i &* source.pixelStride]) - a)
                    }
                }
            }
            if interleaved && channels == 3 {
                // One pair of table entries for the three channels.
                let red = output + y &* width, green = red + shape.planeCount, blue = green + shape.planeCount
                let (sr, sg, sb) = (scale[0], scale[1], scale[2]), (zr, zg, zb) = (bias[0], bias[1], bias[2])
                for x in 0 ..< width {
                    let p = blend + columns[2 &* x], q = blend + columns[2 &* x &+ 1], wx = columnWeights[x]
                    red[x] = (p[0] + wx * (q[0] - p[0])) * sr + zr
                    green[x] = (p[1] + wx * (q[1] - p[1])) * sg + zg
                    blue[x] = (p[2] + wx * (q[2] - p[2])) * sb + zb
                }
                continue
            }
            for c in 0 ..< channels {
                let scale = scale[c], zero = bias[c]
                let plane = blend + c &* channelStep
                let row = output + c &* shape.planeCount + y &* width
                for x in 0 ..< width {
                    let a = plane[columns[2 &* x]], b = plane[columns[2 &* x &+ 1]]
                    row[x] = (a + columnWeights[x] * (b - a)) * scale + zero
                }
            }
        }
    }

    /// For each output index i: the offsets (index · `stride`) of the two source indices and the
    /// weight of the second, for a window [windowStart, windowStart + windowLength) resized to
    /// `count` (read right to left if mirrored).
    private static func fillTable(_ indices: UnsafeMutablePointer<Int>, weights: UnsafeMutablePointer<Float>,
                                  count: Int, windowStart: Int, windowLength: Int, stride: Int, mirrored: Bool) {
        let step = Float(windowLength) / Float(count)
        for i in 0 ..< count {
            let j = mirrored ? count - 1 - i : i
            let real = max(0, (Float(j) + 0.5) * step - 0.5)
            let low = min(Int(real), windowLength - 1)
            let high = min(low + 1, windowLength - 1)
            indices[2 * i] = (windowStart + low) * stride
            indices[2 * i + 1] = (windowStart + high) * stride
            weights[i] = real - Float(low)
        }
    }

    /// Sets to 0 (the mean, after normalisation) the `side`×`side` square whose top-left corner
    /// is (`centerY − side/2`, `centerX − side/2`), clipped to the image, in every channel.
    public static func cutout(_ output: UnsafeMutablePointer<Float>, shape: ImageShape,
                              centerY: Int, centerX: Int, side: Int) {
        let top = max(0, centerY - side / 2), bottom = min(shape.height, centerY - side / 2 + side)
        let left = max(0, centerX - side / 2), right = min(shape.width, centerX - side / 2 + side)
        guard top < bottom && left < right else { return }
        for c in 0 ..< shape.channels {
            for y in top ..< bottom {
                (output + c * shape.planeCount + y * shape.width + left).update(repeating: 0, count: right - left)
            }
        }
    }
}

/// Interpolation tables for `ImageKernels.resizedCrop`, allocated once for an output size.
public final class ResizeScratch {
    public let height: Int
    public let width: Int
    let rows: UnsafeMutablePointer<Int>
    let rowWeights: UnsafeMutablePointer<Float>
    let columns: UnsafeMutablePointer<Int>
    let columnWeights: UnsafeMutablePointer<Float>
    /// Two source rows interpolated across, `maxChannels` planes of `width` each.
    let upper: UnsafeMutablePointer<Float>
    let lower: UnsafeMutablePointer<Float>
    static let maxChannels = 4
    /// A blended source row (`shrinkingRows`), grown to the widest window met.
    private var blendBuffer = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private var blendCapacity = 1

    /// Room for `count` floats of a blended row.
    func blend(count: Int) -> UnsafeMutablePointer<Float> {
        if count > blendCapacity {
            blendBuffer.deallocate()
            blendCapacity = count
            blendBuffer = .allocate(capacity: count)
        }
        return blendBuffer
    }

    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
        rows = .allocate(capacity: 2 * height)
        rowWeights = .allocate(capacity: height)
        columns = .allocate(capacity: 2 * width)
        columnWeights = .allocate(capacity: width)
        upper = .allocate(capacity: Self.maxChannels * width)
        lower = .allocate(capacity: Self.maxChannels * width)
    }

    deinit {
        rows.deallocate()
        rowWeights.deallocate()
        columns.deallocate()
        columnWeights.deallocate()
        upper.deallocate()
        lower.deallocate()
        blendBuffer.deallocate()
    }
}

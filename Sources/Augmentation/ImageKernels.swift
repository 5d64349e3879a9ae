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
        let (height, width) = (shape.height, shape.width)
        precondition(window.top >= 0 && window.left >= 0 && window.height >= 1 && window.width >= 1
            && window.top + window.height <= height && window.left + window.width <= width, "window outside the image")
        precondition(scratch.height >= height && scratch.width >= width, "scratch too small")
        fillTable(scratch.rows, weights: scratch.rowWeights, count: height, windowStart: window.top,
                  windowLength: window.height, mirrored: false)
        fillTable(scratch.columns, weights: scratch.columnWeights, count: width, windowStart: window.left,
                  windowLength: window.width, mirrored: flipped)
        let rows = scratch.rows, rowWeights = scratch.rowWeights
        let columns = scratch.columns, columnWeights = scratch.columnWeights
        for c in 0 ..< shape.channels {
            let scale = normalisation.scale[c], zero = normalisation.bias[c]
            let plane = source + c * shape.planeCount
            let out = output + c * shape.planeCount
            for y in 0 ..< height {
                let upper = plane + rows[2 * y] * width, lower = plane + rows[2 * y + 1] * width
                let wy = rowWeights[y]
                let row = out + y * width
                for x in 0 ..< width {
                    let x0 = columns[2 * x], x1 = columns[2 * x + 1], wx = columnWeights[x]
                    let top = Float(upper[x0]) + wx * (Float(upper[x1]) - Float(upper[x0]))
                    let bottom = Float(lower[x0]) + wx * (Float(lower[x1]) - Float(lower[x0]))
                    row[x] = (top + wy * (bottom - top)) * scale + zero
                }
            }
        }
    }

    /// For each output index i: the two source indices and the weight of the second, for a window
    /// [windowStart, windowStart + windowLength) resized to `count` (read right to left if mirrored).
    private static func fillTable(_ indices: UnsafeMutablePointer<Int>, weights: UnsafeMutablePointer<Float>,
                                  count: Int, windowStart: Int, windowLength: Int, mirrored: Bool) {
        let step = Float(windowLength) / Float(count)
        for i in 0 ..< count {
            let j = mirrored ? count - 1 - i : i
            let real = max(0, (Float(j) + 0.5) * step - 0.5)
            let low = min(Int(real), windowLength - 1)
            let high = min(low + 1, windowLength - 1)
            indices[2 * i] = windowStart + low
            indices[2 * i + 1] = windowStart + high
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

    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
        rows = .allocate(capacity: 2 * height)
        rowWeights = .allocate(capacity: height)
        columns = .allocate(capacity: 2 * width)
        columnWeights = .allocate(capacity: width)
    }

    deinit {
        rows.deallocate()
        rowWeights.deallocate()
        columns.deallocate()
        columnWeights.deallocate()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Randomness

/// The window and flip drawn for one copy of one sample (cutout holes are drawn after them, from
/// the same stream, while they are applied).
public struct CopyGeometry: Sendable, Equatable {
    public var window: SourceWindow
    /// Whether the window is resized (rrc) rather than cropped at the image's size.
    public var resized: Bool
    public var flipped: Bool

    public init(window: SourceWindow, resized: Bool, flipped: Bool) {
        self.window = window
        self.resized = resized
        self.flipped = flipped
    }
}

/// A validated transform list in application order, and its random draws. The draws consume the
/// generator in a fixed order — window, flip, then each hole's centre (y, x) — so a copy's
/// transform is a pure function of its stream.
public struct AugmentationPolicy: Sendable, Equatable {
    public let transforms: [Transform]
    public let shape: ImageShape
    let padding: Int?
    let resized: (scale: ClosedRange<Float>, ratio: ClosedRange<Float>)?
    let flip: Bool
    let cutout: (holes: Int, side: Int)?

    public static func == (a: AugmentationPolicy, b: AugmentationPolicy) -> Bool {
        a.transforms == b.transforms && a.shape == b.shape
    }

    /// Throws a `TransformListError` for lists `Transform.parseList` would reject (a transform twice,
    /// crop with rrc) or a crop padding larger than the image. For `photographs` (decoded images of
    /// any size, resized to `shape`) the window is rrc's or the centre crop, never `crop`'s.
    public init(_ transforms: [Transform], shape: ImageShape, photographs: Bool = false) throws {
        // Round-trip through the parser's checks, which also puts the list in application order.
        let ordered = try Transform.parseList(Transform.listDescription(transforms))
        guard ordered.count == transforms.count else {
            throw TransformListError(entry: Transform.listDescription(transforms), reason: "not a valid list")
        }
        var padding: Int? = nil, resized: (ClosedRange<Float>, ClosedRange<Float>)? = nil
        var flip = false, cutout: (Int, Int)? = nil
        for transform in transforms {
            switch transform {
            case .crop(let p):
                if photographs {
                    throw TransformListError(entry: transform.description, reason: "crop pads and crops images of one fixed "
                        + "size; photographs take rrc (random-resized crop) or no window transform (resize and centre crop)")
                }
                guard p <= min(shape.height, shape.width) else {
                    throw TransformListError(entry: transform.description,
                                             reason: "padding \(p) is larger than the \(shape.height)×\(shape.width) image")
                }
                padding = p
            case .resizedCrop(let scale, let ratio): resized = (scale, ratio)
            case .flip: flip = true
            case .cutout(let holes, let side): cutout = (holes, side)
            }
        }
        self.transforms = ordered
        self.shape = shape
        self.padding = padding
        self.resized = resized
        self.flip = flip
        self.cutout = cutout
    }

    /// Draws the window and the flip.
    public func drawGeometry(using random: inout CounterRNG) -> CopyGeometry {
        var geometry = CopyGeometry(window: SourceWindow(top: 0, left: 0, height: shape.height, width: shape.width),
                                    resized: false, flipped: false)
        drawWindow(into: &geometry, using: &random)
        if flip { geometry.flipped = random.next32() & 1 == 1 }
        return geometry
    }

    /// Draws the window and the flip for a decoded photograph of `height`×`width` pixels, resized to
    /// `shape`: rrc's window drawn on the photograph, or without rrc the centre window validation
    /// uses (`PhotoGeometry.centreWindow`). The draws are those of `drawGeometry` on an image of
    /// the photograph's size.
    public func drawPhotoGeometry(height: Int, width: Int, using random: inout CounterRNG) -> CopyGeometry {
        let source = ImageShape(channels: shape.channels, height: height, width: width)
        let window = resized.map { Self.drawResizedWindow(shape: source, scale: $0.scale, ratio: $0.ratio, using: &random) }
            ?? PhotoGeometry.centreWindow(height: height, width: width, size: min(shape.height, shape.width))
        var geometry = CopyGeometry(window: window, resized: true, flipped: false)
        if flip { geometry.flipped = random.next32() & 1 == 1 }
        return geometry
    }

    /// Whether the window is drawn by rrc.
    public var resizesCrops: Bool { resized != nil }

    func drawWindow(into geometry: inout CopyGeometry, using random: inout CounterRNG) {
        if let padding, padding > 0 {
            geometry.window.top = random.below(2 * padding + 1) - padding
            geometry.window.left = random.below(2 * padding + 1) - padding
        } else if let resized {
            geometry.window = Self.drawResizedWindow(shape: shape, scale: resized.scale, ratio: resized.ratio, using: &random)
            geometry.resized = true
        }
    }

    /// torchvision's `RandomResizedCrop.get_params`: up to ten tries of an area fraction uniform in
    /// `scale` and a log-uniform aspect ratio in `ratio` whose rounded box fits; else the central
    /// box of the largest area with the ratio clamped to `ratio`.
    public static func drawResizedWindow(shape: ImageShape, scale: ClosedRange<Float>, ratio: ClosedRange<Float>,
                                         using random: inout CounterRNG) -> SourceWindow {
        let (height, width) = (shape.height, shape.width)
        let area = Float(height * width)
        let logLow = logf(ratio.lowerBound), logHigh = logf(ratio.upperBound)
        for _ in 0 ..< 10 {
            let target = area * (scale.lowerBound + (scale.upperBound - scale.lowerBound) * random.uniform())
            let aspect = expf(logLow + (logHigh - logLow) * random.uniform())
            let w = Int((target * aspect).squareRoot().rounded())
            let h = Int((target / aspect).squareRoot().rounded())
            if w > 0 && w <= width && h > 0 && h <= height {
                let top = random.below(height - h + 1)
                let left = random.below(width - w + 1)
                return SourceWindow(top: top, left: left, height: h, width: w)
            }
        }
        let inputRatio = Float(width) / Float(height)
        var w = width, h = height
        if inputRatio < ratio.lowerBound {
            h = max(1, min(height, Int((Float(w) / ratio.lowerBound).rounded())))
        } else if inputRatio > ratio.upperBound {
            w = max(1, min(width, Int((Float(h) * ratio.upperBound).rounded())))
        }
        return SourceWindow(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
    }

    /// Holes to cut per copy, and their side (0 holes without cutout).
    public var holes: (count: Int, side: Int) { cutout.map { ($0.holes, $0.side) } ?? (0, 0) }
}

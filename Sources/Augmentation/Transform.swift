import Datasets

/// One random transform of the augmentation pipeline. A list of them is applied in a fixed order
/// whatever order it was written in — the geometric one (crop or rrc), then the flip, then cutout —
/// the order of the standard CIFAR recipes, which lets the augmenter read each output pixel from
/// the source image once (see `ImageKernels`).
public enum Transform: Equatable, Sendable, CustomStringConvertible {
    /// Pad by `padding` zero pixels on every side, then take a random window of the original size
    /// (an offset in 0…2·padding on each axis): a random translation by up to ±padding.
    case crop(padding: Int)
    /// Mirror left–right with probability ½.
    case flip
    /// Set `holes` squares of `side` pixels, centred on uniformly random pixels and clipped at the
    /// borders, to zero *after* normalisation (the dataset mean) — DeVries & Taylor 2017.
    case cutout(holes: Int, side: Int)
    /// Take a random window covering a fraction `scale` of the area with aspect ratio (w/h) in
    /// `ratio` (log-uniform), and resize it to the image size with bilinear interpolation — the
    /// ImageNet "Inception" crop, as torchvision's `RandomResizedCrop` draws it.
    case resizedCrop(scale: ClosedRange<Float>, ratio: ClosedRange<Float>)

    public static let defaultCropPadding = 4
    /// One 16-pixel hole: DeVries & Taylor's setting for CIFAR-10.
    public static let defaultCutout = Transform.cutout(holes: 1, side: 16)
    public static let defaultResizedCrop = Transform.resizedCrop(scale: 0.08 ... 1, ratio: 0.75 ... Float(4.0 / 3.0))

    /// The entry of this transform in the `--augment` syntax.
    public var description: String {
        switch self {
        case .crop(let padding): "crop=\(padding)"
        case .flip: "flip"
        case .cutout(let holes, let side): "cutout=\(holes)x\(side)"
        case .resizedCrop(let scale, let ratio):
            "rrc=\(number(scale.lowerBound))-\(number(scale.upperBound)):\(number(ratio.lowerBound))-\(number(ratio.upperBound))"
        }
    }

    /// Position in the canonical order.
    var stage: Int {
        switch self {
        case .crop, .resizedCrop: 0
        case .flip: 1
        case .cutout: 2
        }
    }

    var name: String {
        switch self {
        case .crop: "crop"
        case .flip: "flip"
        case .cutout: "cutout"
        case .resizedCrop: "rrc"
        }
    }

    /// A list in the `--augment` syntax (`none` for the empty list).
    public static func listDescription(_ transforms: [Transform]) -> String {
        transforms.isEmpty ? "none" : transforms.map(\.description).joined(separator: ",")
    }
}

extension DatasetDescriptor {
    /// `defaultAugmentation`, parsed (the tests check that every dataset's default parses).
    public var defaultTransforms: [Transform] {
        (try? Transform.parseList(defaultAugmentation)) ?? []
    }
}

/// Short decimal text of a Float that reads back as the same Float.
private func number(_ value: Float) -> String {
    if value == value.rounded(), abs(value) < 1e6 { return "\(Int(value))" }
    return "\(value)"
}

import Datasets

/// The geometry of photographs (`--dataset folder`, `shards`) turned into `--size` S images, as
/// torchvision's ImageNet recipe does it: training copies take a random-resized crop (rrc) of
/// the photograph; validation images (and training copies without rrc) are resized so that their
/// shorter side is round(S / 0.875) — 256 for S = 224 — and their centre S×S taken.
///
/// Resizing and cropping are one step here: the centre crop's window is mapped back onto the
/// photograph (a square of S·m/R pixels for a shorter side m resized to R, rounded to whole
/// pixels) and resized to S×S by the bilinear kernel, as an rrc window is.
public enum PhotoGeometry {
    /// S when --size is not given (train, eval, bench augment).
    public static let defaultSize = 128

    /// The centre crop's side over the resized shorter side (ImageNet's 224/256).
    public static let centreCropFraction = 0.875

    /// R: the shorter side a photograph is resized to before its centre `size`×`size` crop.
    public static func resizeSide(crop size: Int) -> Int {
        max(size, Int((Double(size) / centreCropFraction).rounded()))
    }

    /// The square window of a `height`×`width` photograph that becomes the centre crop.
    public static func centreWindow(height: Int, width: Int, size: Int) -> SourceWindow {
        let shorter = min(height, width)
        let side = max(1, min(shorter, Int((Double(size) * Double(shorter) / Double(resizeSide(crop: size))).rounded())))
        return SourceWindow(top: (height - side) / 2, left: (width - side) / 2, height: side, width: side)
    }

    /// The shorter side photographs are decoded at (at least) for `size` and `transforms`: S when
    /// rrc chooses the window (a whole-image crop is then at most halved), R for the centre crop.
    public static func decodeSide(size: Int, transforms: [Transform]) -> Int {
        transforms.contains { if case .resizedCrop = $0 { true } else { false } } ? size : resizeSide(crop: size)
    }
}

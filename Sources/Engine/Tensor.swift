import CKernels

/// The shape of one sample: channels × height × width (dense features are C × 1 × 1).
public struct TensorShape: Hashable, Sendable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    public init(features: Int) { self.init(channels: features, height: 1, width: 1) }

    public var elements: Int { channels * height * width }
    public var description: String { height == 1 && width == 1 ? "\(channels)" : "\(channels)×\(height)×\(width)" }
}

/// An activation of a batch of images in NCHW order, each plane surrounded by `padding` rows
/// and columns of zeros. Convolutions read a padded tensor directly (no copy); every other
/// operation reads and writes the interior through strides, so the border stays zero.
final class ActivationSlot {
    let shape: TensorShape
    var padding = 0
    private(set) var images = 0
    private(set) var storage: FloatBuffer?

    init(shape: TensorShape) { self.shape = shape }

    var rowStride: Int { shape.width + 2 * padding }
    var planeStride: Int { (shape.height + 2 * padding) * rowStride }
    var imageStride: Int { shape.channels * planeStride }
    /// Whether the interior is contiguous (a plain NCHW array).
    var isDense: Bool { padding == 0 }

    /// Allocates room for `images` images (zeroed, plus slack for vector reads past a row end).
    func allocate(images: Int) {
        guard images != self.images || storage == nil else { return }
        self.images = images
        storage = FloatBuffer(count: floats(images: images))
    }

    /// Floats `allocate(images:)` takes for `images` images.
    func floats(images: Int) -> Int { images * imageStride + rowStride + 32 }

    /// Uses `owner`'s memory (allocated, of the same geometry) instead of its own.
    func share(_ owner: ActivationSlot) {
        precondition(owner.storage != nil && owner.rowStride == rowStride && owner.imageStride == imageStride,
                     "gradient memory shared between slots of different geometry")
        images = owner.images
        storage = owner.storage
    }

    func release() {
        storage = nil
        images = 0
    }

    var bytes: Int { (storage?.count ?? 0) * 4 }

    /// The interior, element (0, 0, 0, 0) first.
    var interior: UnsafeMutablePointer<Float> { storage!.pointer + padding * rowStride + padding }

    /// The strided view of the interior.
    var view: ck_view { ck_view(data: interior, image: imageStride, plane: planeStride, row: rowStride) }

    /// The view starting `by` rows and columns before the interior (inside the zero border),
    /// as a convolution with that padding reads it.
    func view(paddedBy by: Int) -> ck_view { view(paddedByRows: by, columns: by) }

    /// The view starting `rows` rows above and `columns` columns left of the interior.
    func view(paddedByRows rows: Int, columns: Int) -> ck_view {
        precondition(rows <= padding && columns <= padding, "slot padded by \(padding), \(max(rows, columns)) needed")
        return ck_view(data: interior - rows * rowStride - columns, image: imageStride, plane: planeStride,
                       row: rowStride)
    }
}

extension ck_view {
    /// The view of image `n` onwards.
    func advanced(images n: Int) -> ck_view {
        ck_view(data: data! + n * image, image: image, plane: plane, row: row)
    }

    /// The view from channel c on (`.none` stays `.none`).
    func advanced(channels c: Int) -> ck_view {
        ck_view(data: data.map { $0 + c * plane }, image: image, plane: plane, row: row)
    }

    /// A dense NCHW array seen as a view.
    static func dense(_ pointer: UnsafeMutablePointer<Float>, shape: TensorShape) -> ck_view {
        ck_view(data: pointer, image: shape.elements, plane: shape.height * shape.width, row: shape.width)
    }

    static var none: ck_view { ck_view(data: nil, image: 0, plane: 0, row: 0) }
}

import CPNG
import CTurboJPEG

/// A byte buffer that grows to the largest content it has held and is reused: the encoded bytes
/// of a file, a decoded image. Not thread-safe: one owner.
public final class ByteBuffer {
    public private(set) var base: UnsafeMutablePointer<UInt8>
    public private(set) var capacity: Int

    public init(capacity: Int = 0) {
        self.capacity = max(capacity, 1)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Makes room for `count` bytes (the content is not kept when it grows).
    public func reserve(_ count: Int) {
        guard count > capacity else { return }
        base.deallocate()
        capacity = count
        base = .allocate(capacity: count)
    }

    /// Gives back memory above `limit` bytes (after an unusually large image).
    func shrink(above limit: Int) {
        guard capacity > limit else { return }
        base.deallocate()
        capacity = 1
        base = .allocate(capacity: 1)
    }
}

/// An image of 8-bit RGB pixels, interleaved (R, G, B of a pixel, then the next), rows top to
/// bottom without padding. Valid while the buffer it points into is neither written nor freed.
/// Only its first `rows` rows may have been decoded (the rows a step's copies need).
public struct RGBImage {
    public let base: UnsafePointer<UInt8>
    public let width: Int
    public let height: Int
    /// Rows that hold pixels (`height` unless the decode stopped early).
    public let rows: Int

    public init(base: UnsafePointer<UInt8>, width: Int, height: Int, rows: Int? = nil) {
        self.base = base
        self.width = width
        self.height = height
        self.rows = rows ?? height
    }

    public var byteCount: Int { 3 * width * rows }
}

/// The two formats the decoder reads, told apart by their first bytes (not by the file's name).
public enum ImageFormat: String, Sendable {
    case jpeg = "JPEG", png = "PNG"

    /// The format of `bytes`, or nil.
    public static func of(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF { return .jpeg }
        if bytes.count >= 8 && Array(bytes[0 ..< 8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        return nil
    }

    /// What other image files begin with, to name what a file that is neither looks like.
    static func guess(_ bytes: UnsafeRawBufferPointer) -> String? {
        func starts(_ prefix: String, at offset: Int = 0) -> Bool {
            let p = Array(prefix.utf8)
            return bytes.count >= offset + p.count && Array(bytes[offset ..< offset + p.count]) == p
        }
        if starts("GIF8") { return "a GIF" }
        if starts("BM") { return "a BMP" }
        if starts("RIFF") && starts("WEBP", at: 8) { return "a WebP" }
        if starts("II*\0") || starts("MM\0*") { return "a TIFF" }
        if starts("ftyp", at: 4) { return "an HEIF/AVIF or MP4 file" }
        if starts("<") || starts("\u{FEFF}<") { return "an HTML or XML page" }
        if starts("%PDF") { return "a PDF" }
        return nil
    }
}

/// Decodes JPEG (libjpeg-turbo, through its libjpeg API) and PNG (libpng's simplified API) files to 8-bit RGB,
/// whatever they hold: grayscale, palette, alpha (dropped, as Pillow's `convert("RGB")` does),
/// 16-bit (rounded to 8), CMYK (Adobe's inverted convention, converted as Pillow converts it),
/// interlaced and progressive files.
///
/// **Reduced size.** Asked for a shorter side of at least T, a JPEG is decoded at the smallest of
/// 1, 1/2, 1/4 or 1/8 of its size whose shorter side is still T or more — the scaling happens in
/// the inverse DCT, which costs a fraction of a full decode (the SIMD paths of libjpeg-turbo cover
/// exactly these factors) and averages like a good downscaling filter. What is still 2T or more
/// (large PNGs, very large JPEGs) is reduced by an integer box filter to a shorter side in
/// [T, 2T). A bilinear resize to T then never shrinks by more than 2, where it still averages
/// every source pixel.
///
/// **Rows a step needs.** Given `rowsNeeded` (for the image's final size: the lowest row any of
/// the step's windows reaches), a JPEG is decoded down to that row only: the entropy-coded data
/// below it is not read. The rows decoded are those a whole decode gives, bit for bit (libjpeg
/// produces rows top to bottom and stops); `RGBImage.rows` says how many there are.
///
/// **Hostile files.** The header is read first: an image of more than `maxPixels` pixels
/// (Pillow's `MAX_IMAGE_PIXELS` by default) is refused before anything is allocated for it, and
/// so is a file larger than such an image could be. A truncated JPEG (libjpeg's "Premature end"
/// warning) or any libjpeg/libpng error is a `DatasetError` naming the file; so are empty files
/// and files of other formats. Progressive JPEGs of more than 500 scans are refused (as TurboJPEG's
/// `TJFLAG_LIMITSCANS` does).
///
/// One decoder per thread; it keeps its scratch buffers between images.
public final class ImageDecoder {
    /// Pillow's `Image.MAX_IMAGE_PIXELS`: 1024 × 1024 × 1024 / 4 / 3.
    public static let defaultMaxPixels = 89_478_485
    /// The scratch above this many bytes is given back after the image that needed it.
    static let keptScratchBytes = 64 << 20

    public let maxPixels: Int
    /// RGBA (PNG) or CMYK (JPEG) pixels before they become RGB.
    private let scratch = ByteBuffer()
    /// libjpeg's message of the last failure.
    private var messageBuffer = [CChar](repeating: 0, count: Int(JMSG_LENGTH_MAX))

    public init(maxPixels: Int = ImageDecoder.defaultMaxPixels) {
        precondition(maxPixels >= 1)
        self.maxPixels = maxPixels
    }

    /// The largest file an image within `maxPixels` can plausibly take: 8 bytes per pixel (a
    /// 16-bit RGBA PNG stored uncompressed) and a megabyte of metadata.
    public var maxFileBytes: Int { maxPixels.multipliedReportingOverflow(by: 8).partialValue + (1 << 20) }

    /// Decodes the file `encoded` (named `path` in errors) into `output` as RGB, reduced as
    /// described above for a shorter side of at least `shorterSide` (nil: full size), down to the
    /// row `rowsNeeded(height, width)` of the final size gives (nil: all rows).
    public func decode(_ encoded: UnsafeRawBufferPointer, path: String, shorterSide target: Int?,
                       rowsNeeded: ((_ height: Int, _ width: Int) -> Int)? = nil, into output: ByteBuffer) throws -> RGBImage {
        guard !encoded.isEmpty else { throw DatasetError(path: path, .emptyFile) }
        guard encoded.count <= maxFileBytes else { throw DatasetError(path: path, .tooLarge(bytes: encoded.count, limit: maxFileBytes)) }
        defer { scratch.shrink(above: Self.keptScratchBytes) }
        switch ImageFormat.of(encoded) {
        case .jpeg?: return try decodeJPEG(encoded, path: path, target: target, rowsNeeded: rowsNeeded, into: output)
        case .png?: return try decodePNG(encoded, path: path, target: target, into: output)
        case nil:
            throw DatasetError(path: path, .notAnImage(firstBytes: Array(encoded.prefix(8)), kind: ImageFormat.guess(encoded)))
        }
    }

    private func checkPixels(width: Int, height: Int, format: ImageFormat, path: String) throws {
        guard width >= 1, height >= 1 else {
            throw DatasetError(path: path, .corruptImage(format: format.rawValue, reason: "its header says \(width)×\(height) pixels"))
        }
        guard width.multipliedReportingOverflow(by: height).partialValue <= maxPixels, width <= maxPixels, height <= maxPixels else {
            throw DatasetError(path: path, .tooManyPixels(width: width, height: height, limit: maxPixels))
        }
    }

    private func decodeJPEG(_ encoded: UnsafeRawBufferPointer, path: String, target: Int?,
                            rowsNeeded: ((Int, Int) -> Int)?, into output: ByteBuffer) throws -> RGBImage {
        let bytes = encoded.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard let (width, height, colorspace) = jpegHeader(encoded) else {
            throw DatasetError(path: path, .corruptImage(format: "JPEG", reason: message))
        }
        try checkPixels(width: width, height: height, format: .jpeg, path: path)
        // The largest power-of-two reduction (up to 8) that keeps the shorter side at the target or above.
        var denominator = 1
        if let target {
            let shorter = Int(min(width, height))
            while denominator < 8 && (shorter + 2 * denominator - 1) / (2 * denominator) >= target { denominator *= 2 }
        }
        let scaledWidth = (Int(width) + denominator - 1) / denominator
        let scaledHeight = (Int(height) + denominator - 1) / denominator
        let factor = Self.boxFactor(width: scaledWidth, height: scaledHeight, target: target)
        let (finalWidth, finalHeight) = (scaledWidth / factor, scaledHeight / factor)
        let rows = rowsNeeded.map { min(finalHeight, max(1, $0(finalHeight, finalWidth))) } ?? finalHeight
        let decodedRows = min(scaledHeight, rows * factor)
        let cmyk = colorspace == Int32(JCS_CMYK.rawValue) || colorspace == Int32(JCS_YCCK.rawValue)
        let destination: UnsafeMutablePointer<UInt8>
        if cmyk {
            scratch.reserve(4 * scaledWidth * decodedRows)
            destination = scratch.base
        } else {
            output.reserve(3 * scaledWidth * decodedRows)
            destination = output.base
        }
        var truncated: Int32 = 0, ignored: (Int32, Int32, Int32) = (0, 0, 0)
        let status = messageBuffer.withUnsafeMutableBufferPointer {
            batchaug_jpeg_read(bytes, UInt(encoded.count), &ignored.0, &ignored.1, &ignored.2, Int32(denominator), cmyk ? 1 : 0,
                               destination, UInt((cmyk ? 4 : 3) * scaledWidth), Int32(decodedRows), &truncated, $0.baseAddress)
        }
        if status != 0 || truncated != 0 {
            // Other warnings leave a complete image (Pillow accepts them too); data ending early does not.
            throw DatasetError(path: path, .corruptImage(format: "JPEG", reason: status != 0 ? message : "Premature end of JPEG file"))
        }
        if cmyk {
            Self.convertInvertedCMYK(scratch.base, count: scaledWidth * decodedRows, into: scratch.base)
            return Self.boxReduce(output, width: scaledWidth, height: decodedRows, channels: 3, from: scratch.base,
                                  factor: factor, fullHeight: finalHeight)
        }
        return Self.boxReduce(output, width: scaledWidth, height: decodedRows, channels: 3, from: output.base,
                              factor: factor, fullHeight: finalHeight)
    }

    private func decodePNG(_ encoded: UnsafeRawBufferPointer, path: String, target: Int?,
                           into output: ByteBuffer) throws -> RGBImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        guard png_image_begin_read_from_memory(&image, encoded.baseAddress, encoded.count) != 0 else {
            throw DatasetError(path: path, .corruptImage(format: "PNG", reason: Self.message(of: &image)))
        }
        let (width, height) = (Int(image.width), Int(image.height))
        try checkPixels(width: width, height: height, format: .png, path: path)
        // RGBA, then the alpha dropped: the colours are kept as stored (libpng's 8-bit output is not
        // premultiplied), as Pillow's convert("RGB") keeps them. 16-bit files without gamma
        // information are taken as sRGB-encoded (the usual case), not as linear light.
        image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
        image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
        scratch.reserve(4 * width * height)
        guard png_image_finish_read(&image, nil, scratch.base, Int32(4 * width), nil) != 0 else {
            throw DatasetError(path: path, .corruptImage(format: "PNG", reason: Self.message(of: &image)))
        }
        return Self.boxReduce(output, width: width, height: height, channels: 4, from: scratch.base,
                              factor: Self.boxFactor(width: width, height: height, target: target), fullHeight: nil)
    }

    /// The JPEG header's width, height and colour space (nil, with `message` set, if unreadable).
    private func jpegHeader(_ encoded: UnsafeRawBufferPointer) -> (width: Int, height: Int, colorspace: Int32)? {
        var width: Int32 = 0, height: Int32 = 0, colorspace: Int32 = 0, truncated: Int32 = 0
        let status = messageBuffer.withUnsafeMutableBufferPointer {
            batchaug_jpeg_read(encoded.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt(encoded.count), &width, &height,
                               &colorspace, 1, 0, nil, 0, 0, &truncated, $0.baseAddress)
        }
        return status == 0 ? (Int(width), Int(height), colorspace) : nil
    }

    /// libjpeg's last error message.
    private var message: String {
        var text = Substring(String(decoding: messageBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        while let last = text.last, last == "." || last.isWhitespace { text = text.dropLast() }
        return String(text)
    }

    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// CMYK as Adobe's applications store it in JPEG files (inverted: 255 is no ink), to RGB with
    /// Pillow's arithmetic: with k′ = the stored K, each channel is k′ − round((255 − stored) · k′ / 255).
    /// `rgb` may be `cmyk` (pixel i is written at 3i, after 4i is read).
    static func convertInvertedCMYK(_ cmyk: UnsafePointer<UInt8>, count: Int, into rgb: UnsafeMutablePointer<UInt8>) {
        for i in 0 ..< count {
            let k = Int(cmyk[4 * i + 3])
            for c in 0 ..< 3 {
                let t = (255 - Int(cmyk[4 * i + c])) * k + 128
                rgb[3 * i + c] = UInt8(max(0, k - (((t >> 8) + t) >> 8)))
            }
        }
    }

    /// The integer box-filter factor for an image: f = ⌊shorter / target⌋ when the shorter side is
    /// 2·target or more, else 1.
    static func boxFactor(width: Int, height: Int, target: Int?) -> Int {
        let shorter = min(width, height)
        return target.map { $0 >= 1 && shorter >= 2 * $0 ? shorter / $0 : 1 } ?? 1
    }

    /// Writes the `channels`-channel image at `source` (RGB or RGBA, `height` rows decoded) as RGB
    /// into `output`, reduced by the integer factor `factor` (each output pixel the rounded mean of
    /// an f×f block; the last rows and columns that do not fill a block are dropped). `source` may
    /// be `output.base` when `channels` is 3 (`output` then already holds at least the result's
    /// bytes and is not reallocated). `fullHeight`: the final height of the whole image when only
    /// its top rows were decoded.
    static func boxReduce(_ output: ByteBuffer, width: Int, height: Int, channels: Int, from source: UnsafePointer<UInt8>,
                          factor: Int, fullHeight: Int?) -> RGBImage {
        output.reserve(3 * (width / factor) * (height / factor))
        let out = output.base
        if factor == 1 {
            if channels == 3 {
                if UnsafePointer(out) != source { out.update(from: source, count: 3 * width * height) }
            } else {
                for i in 0 ..< width * height {
                    out[3 * i] = source[channels * i]
                    out[3 * i + 1] = source[channels * i + 1]
                    out[3 * i + 2] = source[channels * i + 2]
                }
            }
            return RGBImage(base: out, width: width, height: fullHeight ?? height, rows: height)
        }
        let (outWidth, outHeight) = (width / factor, height / factor)
        let area = factor * factor
        // Output pixel (y, x) reads rows from y·f on: in place, it is never written before it is read.
        var sums = [Int](repeating: 0, count: 3 * outWidth)
        sums.withUnsafeMutableBufferPointer { sums in
            for y in 0 ..< outHeight {
                for i in 0 ..< sums.count { sums[i] = 0 }
                for row in y * factor ..< (y + 1) * factor {
                    let line = source + row * width * channels
                    for x in 0 ..< outWidth {
                        var pixel = line + x * factor * channels
                        var r = 0, g = 0, b = 0
                        for _ in 0 ..< factor {
                            r += Int(pixel[0]); g += Int(pixel[1]); b += Int(pixel[2])
                            pixel += channels
                        }
                        sums[3 * x] += r; sums[3 * x + 1] += g; sums[3 * x + 2] += b
                    }
                }
                let line = out + y * outWidth * 3
                for i in 0 ..< 3 * outWidth { line[i] = UInt8((sums[i] + area / 2) / area) }
            }
        }
        return RGBImage(base: out, width: outWidth, height: fullHeight ?? outHeight, rows: outHeight)
    }
}

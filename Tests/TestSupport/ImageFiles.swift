import CTurboJPEG
import CZlib
import Foundation

/// Image files for tests, written by real encoders: JPEG by libjpeg-turbo's TurboJPEG compressor
/// (RGB at any chroma subsampling, grayscale, CMYK — stored as YCCK — and progressive), PNG by
/// the small writer below (every colour type and bit depth the format has, zlib-compressed,
/// CRC-checked), whose files Pillow and libpng read (`ImageFileTests` and the Pillow cross-check).
public enum ImageFiles {
    public enum Subsampling: Sendable { case s444, s422, s420, gray }

    /// A JPEG of `pixels` (RGB interleaved, or one byte a pixel with `.gray`; with `cmyk`, 4 bytes a
    /// pixel of CMYK as stored).
    public static func jpeg(_ pixels: [UInt8], width: Int, height: Int, quality: Int = 95, subsampling: Subsampling = .s444,
                            progressive: Bool = false, cmyk: Bool = false) -> [UInt8] {
        let handle = tjInitCompress()!
        defer { tjDestroy(handle) }
        let format = cmyk ? TJPF_CMYK : subsampling == .gray ? TJPF_GRAY : TJPF_RGB
        let sampling: TJSAMP = switch subsampling {
        case .s444: TJSAMP_444
        case .s422: TJSAMP_422
        case .s420: TJSAMP_420
        case .gray: TJSAMP_GRAY
        }
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let status = pixels.withUnsafeBufferPointer {
            tjCompress2(handle, $0.baseAddress, Int32(width), 0, Int32(height), Int32(format.rawValue), &buffer, &size,
                        Int32(sampling.rawValue), Int32(quality), progressive ? TJFLAG_PROGRESSIVE : 0)
        }
        precondition(status == 0, "tjCompress2: \(String(cString: tjGetErrorStr2(handle)))")
        defer { tjFree(buffer) }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
    }

    /// PNG colour types.
    public enum ColorType: UInt8, Sendable {
        case gray = 0, rgb = 2, palette = 3, grayAlpha = 4, rgba = 6

        public var channels: Int {
            switch self {
            case .gray, .palette: 1
            case .grayAlpha: 2
            case .rgb: 3
            case .rgba: 4
            }
        }
    }

    /// A PNG of `samples` (`channels` per pixel, row by row; 16-bit samples as values 0…65535)
    /// at `bitDepth` 8 or 16 (palette: 8); `palette` RGB entries and their `transparency` (tRNS).
    public static func png(_ samples: [Int], width: Int, height: Int, colorType: ColorType, bitDepth: Int = 8,
                           palette: [UInt8] = [], transparency: [UInt8] = []) -> [UInt8] {
        precondition(samples.count == width * height * colorType.channels)
        var raw: [UInt8] = []
        raw.reserveCapacity(height * (1 + width * colorType.channels * bitDepth / 8))
        for y in 0 ..< height {
            raw.append(0)   // filter: none
            for value in samples[(y * width * colorType.channels) ..< ((y + 1) * width * colorType.channels)] {
                if bitDepth == 16 { raw += [UInt8(value >> 8), UInt8(value & 0xff)] } else { raw.append(UInt8(value)) }
            }
        }
        var compressed = [UInt8](repeating: 0, count: Int(compressBound(UInt(raw.count))))
        var length = UInt(compressed.count)
        precondition(compress2(&compressed, &length, raw, UInt(raw.count), 6) == Z_OK)
        var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        file += chunk("IHDR", bigEndian(width) + bigEndian(height) + [UInt8(bitDepth), colorType.rawValue, 0, 0, 0])
        if !palette.isEmpty { file += chunk("PLTE", palette) }
        if !transparency.isEmpty { file += chunk("tRNS", transparency) }
        file += chunk("IDAT", Array(compressed[..<Int(length)]))
        file += chunk("IEND", [])
        return file
    }

    /// A PNG chunk: length, type, data, CRC-32 of type and data.
    public static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        let crc = body.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
        return bigEndian(data.count) + body + bigEndian(Int(crc))
    }

    static func bigEndian(_ value: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8((value >> $0) & 0xff) } }

    /// A smooth, colourful test picture: RGB bytes of `width`×`height` (JPEG compresses it well
    /// and decodes it close to the original), varied by `seed`.
    public static func picture(width: Int, height: Int, seed: Int = 0) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: 3 * width * height)
        for y in 0 ..< height {
            for x in 0 ..< width {
                let i = 3 * (y * width + x)
                pixels[i] = UInt8((x * 255 / max(width - 1, 1) + seed * 37) % 256)
                pixels[i + 1] = UInt8((y * 255 / max(height - 1, 1) + seed * 59) % 256)
                pixels[i + 2] = UInt8(((x + y) * 127 / max(width + height - 2, 1) + 64 + seed * 13) % 256)
            }
        }
        return pixels
    }

    /// Writes `bytes` to `path`, creating its directory.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// A folder of photographs under `root`: `train/<class>/` and `val/<class>/` with `perClass`
    /// and `validationPerClass` JPEGs of `width`×`height` (varied sizes when `vary`), returned as
    /// the paths written.
    @discardableResult
    public static func folder(at root: String, classes: [String] = ["cats", "dogs"], perClass: Int = 6,
                              validationPerClass: Int = 3, width: Int = 48, height: Int = 36, vary: Bool = true) throws -> [String] {
        var written: [String] = []
        for (split, count) in [("train", perClass), ("val", validationPerClass)] {
            for (label, name) in classes.enumerated() {
                for i in 0 ..< count {
                    let (w, h) = vary ? (width + 8 * (i % 3), height + 4 * ((i + label) % 4)) : (width, height)
                    let path = "\(root)/\(split)/\(name)/image-\(i).jpg"
                    try write(jpeg(picture(width: w, height: h, seed: 7 * label + i), width: w, height: h, quality: 90,
                                   subsampling: .s420), to: path)
                    written.append(path)
                }
            }
        }
        return written
    }
}

/// Python 3 with Pillow, if this machine has it (`launch/test` installs it): the real reader the
/// decoded pixels are compared with.
public let pillowPython: String? = {
    for candidate in ["python3", "/usr/bin/python3", "/usr/local/bin/python3"] {
        guard let outcome = try? runProcess("/usr/bin/env", [candidate, "-c", "import PIL"], timeout: 30),
              outcome.status == 0 else { continue }
        return candidate
    }
    return nil
}()

extension ImageFiles {
    /// The files at `paths` as Pillow reads them: `Image.open(path).convert("RGB")` (what
    /// torchvision's `ImageFolder` does), each as its width, height and RGB bytes.
    public static func pillowRGB(_ paths: [String], python: String) throws -> [(width: Int, height: Int, rgb: [UInt8])] {
        let output = NSTemporaryDirectory() + "batchaug-pillow-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: output) }
        let script = """
            import struct, sys
            from PIL import Image
            with open(sys.argv[1], "wb") as out:
                for path in sys.argv[2:]:
                    image = Image.open(path).convert("RGB")
                    out.write(struct.pack("<ii", image.width, image.height))
                    out.write(image.tobytes())
            """
        let outcome = try runProcess("/usr/bin/env", [python, "-c", script, output] + paths, timeout: 300)
        guard outcome.status == 0 else { throw PillowFailure(description: "\(outcome)") }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
        var images: [(width: Int, height: Int, rgb: [UInt8])] = []
        var position = 0
        func int32() -> Int {
            defer { position += 4 }
            return bytes[position ..< position + 4].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        }
        while position < bytes.count {
            let (width, height) = (int32(), int32())
            images.append((width, height, Array(bytes[position ..< position + 3 * width * height])))
            position += 3 * width * height
        }
        return images
    }

    public struct PillowFailure: Error, CustomStringConvertible {
        public let description: String
    }
}

/// A data set of `../shared/datasets/` beside the repository (or beside the directory holding
/// the repository, as for a worktree in `../wt/NAME`), if it is there with `marker` in it.
public func sharedDataset(_ name: String, marker: String) -> String? {
    var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    for _ in 0 ..< 2 {
        directory = directory.deletingLastPathComponent()
        let candidate = directory.appendingPathComponent("shared/datasets/\(name)").path
        if FileManager.default.fileExists(atPath: candidate + "/" + marker) { return candidate }
    }
    return nil
}

/// The hymenoptera photographs (ants and bees in class folders), or nil.
public let hymenopteraDirectory = sharedDataset("hymenoptera", marker: "train/ants")
/// The CIFAR-10 copy in the official binary layout, or nil.
public let sharedCIFAR10Directory = sharedDataset("cifar10-jpeg", marker: "data_batch_1.bin")

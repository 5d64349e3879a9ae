import Datasets
import Foundation
import Testing
import TestSupport

/// `ImageDecoder` on files written by real encoders (libjpeg-turbo's compressor; a PNG writer whose
/// files Pillow and libpng read), on hostile files, and against Pillow's own reading.
@Suite("image decoding: JPEG and PNG to RGB")
struct ImageDecodingTests {
    /// Decodes `bytes` (a fresh decoder and buffer), returning the image's size and its RGB rows.
    static func decode(_ bytes: [UInt8], shorterSide: Int? = nil, maxPixels: Int = ImageDecoder.defaultMaxPixels,
                       rowsNeeded: ((Int, Int) -> Int)? = nil) throws -> (width: Int, height: Int, rows: Int, rgb: [UInt8]) {
        let decoder = ImageDecoder(maxPixels: maxPixels)
        let buffer = ByteBuffer()
        let image = try bytes.withUnsafeBytes {
            try decoder.decode($0, path: "test-image", shorterSide: shorterSide, rowsNeeded: rowsNeeded, into: buffer)
        }
        return (image.width, image.height, image.rows, Array(UnsafeBufferPointer(start: image.base, count: image.byteCount)))
    }

    static func meanAbsoluteDifference(_ a: [UInt8], _ b: [UInt8]) -> Double {
        precondition(a.count == b.count)
        return Double(zip(a, b).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }) / Double(a.count)
    }

    static func message(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return "no error"
    }

    @Test("JPEG: RGB at 4:4:4 and 4:2:0, grayscale, progressive and CMYK all become RGB close to the picture")
    func jpegVariants() throws {
        let (width, height) = (64, 48)
        let picture = ImageFiles.picture(width: width, height: height, seed: 3)
        for subsampling in [ImageFiles.Subsampling.s444, .s420] {
            let decoded = try Self.decode(ImageFiles.jpeg(picture, width: width, height: height, subsampling: subsampling))
            #expect(decoded.width == width && decoded.height == height && decoded.rows == height)
            #expect(Self.meanAbsoluteDifference(decoded.rgb, picture) < 6, "\(subsampling)")
        }
        // Progressive coding orders the same quantised coefficients differently: the same pixels.
        let baseline = try Self.decode(ImageFiles.jpeg(picture, width: width, height: height))
        let progressive = try Self.decode(ImageFiles.jpeg(picture, width: width, height: height, progressive: true))
        #expect(progressive.rgb == baseline.rgb)

        let gray = (0 ..< width * height).map { picture[3 * $0 + 1] }
        let decodedGray = try Self.decode(ImageFiles.jpeg(gray, width: width, height: height, subsampling: .gray))
        let rgbOfGray = decodedGray.rgb
        let channelsEqual = (0 ..< width * height).allSatisfy { (i: Int) -> Bool in
            rgbOfGray[3 * i] == rgbOfGray[3 * i + 1] && rgbOfGray[3 * i] == rgbOfGray[3 * i + 2]
        }
        #expect(channelsEqual, "grey stays grey")
        #expect(Self.meanAbsoluteDifference(stride(from: 0, to: decodedGray.rgb.count, by: 3).map { decodedGray.rgb[$0] }, gray) < 2)

        // CMYK (stored as YCCK by the encoder), read with Adobe's inverted convention as Pillow reads it:
        // each channel k − (255 − stored)·k/255 for the stored K value k.
        var cmyk: [UInt8] = []
        for i in 0 ..< width * height {
            cmyk += [picture[3 * i], picture[3 * i + 1], picture[3 * i + 2], UInt8(150 + i % 100)]
        }
        let decodedCMYK = try Self.decode(ImageFiles.jpeg(cmyk, width: width, height: height, cmyk: true))
        let expected = (0 ..< width * height).flatMap { i -> [UInt8] in
            let k = Double(cmyk[4 * i + 3])
            return (0 ..< 3).map { UInt8((k - (255 - Double(cmyk[4 * i + $0])) * k / 255).rounded()) }
        }
        #expect(Self.meanAbsoluteDifference(decodedCMYK.rgb, expected) < 4)
    }

    @Test("DCT scaling: the largest of 1/2, 1/4, 1/8 keeping the shorter side at the target; then a box filter below 2x the target")
    func reducedSizes() throws {
        let picture = ImageFiles.picture(width: 640, height: 480)
        let file = ImageFiles.jpeg(picture, width: 640, height: 480, quality: 90, subsampling: .s420)
        let cases: [(Int?, Int, Int)] = [(nil, 640, 480), (481, 640, 480), (240, 320, 240), (241, 640, 480), (100, 160, 120),
                                         (60, 80, 60), (50, 80, 60), (20, 26, 20), (29, 40, 30)]
        for (target, width, height) in cases {
            let decoded = try Self.decode(file, shorterSide: target)
            #expect(decoded.width == width && decoded.height == height, "target \(target.map(String.init) ?? "none")")
        }
        // A PNG is reduced by the box filter alone: each pixel the rounded mean of a 4×4 block.
        let samples = (0 ..< 100 * 80 * 3).map { ($0 * 7 + $0 / 300) % 256 }
        let reduced = try Self.decode(ImageFiles.png(samples, width: 100, height: 80, colorType: .rgb), shorterSide: 20)
        #expect(reduced.width == 25 && reduced.height == 20)
        for (y, x, c) in [(0, 0, 0), (3, 7, 1), (19, 24, 2), (10, 12, 0)] {
            var sum = 0
            for dy in 0 ..< 4 { for dx in 0 ..< 4 { sum += samples[3 * ((4 * y + dy) * 100 + 4 * x + dx) + c] } }
            #expect(Int(reduced.rgb[3 * (y * 25 + x) + c]) == (sum + 8) / 16, "(\(y), \(x), \(c))")
        }
    }

    @Test("PNG: grey, grey+alpha, RGB, RGBA (alpha dropped, colours kept), palette with transparency and 16-bit become RGB8")
    func pngVariants() throws {
        let (width, height) = (7, 5)
        let count = width * height
        let gray = (0 ..< count).map { ($0 * 37) % 256 }
        let rgb = (0 ..< 3 * count).map { ($0 * 53 + 11) % 256 }
        let expectedGray: [UInt8] = gray.flatMap { (g: Int) -> [UInt8] in [UInt8(g), UInt8(g), UInt8(g)] }
        #expect(try Self.decode(ImageFiles.png(gray, width: width, height: height, colorType: .gray)).rgb == expectedGray)
        let grayAlpha: [Int] = (0 ..< count).flatMap { (i: Int) -> [Int] in [gray[i], i % 2 == 0 ? 0 : 255] }
        #expect(try Self.decode(ImageFiles.png(grayAlpha, width: width, height: height, colorType: .grayAlpha)).rgb == expectedGray)
        #expect(try Self.decode(ImageFiles.png(rgb, width: width, height: height, colorType: .rgb)).rgb == rgb.map(UInt8.init))
        var rgba: [Int] = []
        for i in 0 ..< count { rgba += [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], (i * 61) % 256] }
        #expect(try Self.decode(ImageFiles.png(rgba, width: width, height: height, colorType: .rgba)).rgb == rgb.map(UInt8.init),
                "transparent pixels keep their colour, as Pillow's convert(\"RGB\") keeps it")
        let palette: [UInt8] = [255, 0, 0, 0, 128, 0, 10, 20, 30, 200, 200, 250]
        let indices = (0 ..< count).map { $0 % 4 }
        let paletted = try Self.decode(ImageFiles.png(indices, width: width, height: height, colorType: .palette,
                                                      palette: palette, transparency: [0, 128]))
        #expect(paletted.rgb == indices.flatMap { Array(palette[(3 * $0) ..< (3 * $0 + 3)]) })
        // 16-bit samples become 8-bit ones, rounded (Pillow truncates: at most one level apart).
        let deep = (0 ..< 3 * count).map { ($0 * 4099 + 17) % 65536 }
        let deepDecoded = try Self.decode(ImageFiles.png(deep, width: width, height: height, colorType: .rgb, bitDepth: 16))
        #expect(zip(deepDecoded.rgb, deep).allSatisfy { abs(Int($0) - $1 >> 8) <= 1 }, "\(deepDecoded.rgb.prefix(9))")
        let deepGray = try Self.decode(ImageFiles.png(gray.map { $0 * 257 }, width: width, height: height, colorType: .gray,
                                                      bitDepth: 16))
        #expect(deepGray.rgb == expectedGray)
    }

    @Test("rows a step needs: a JPEG decoded down to row r holds exactly the whole decode's first r rows")
    func rowsNeeded() throws {
        let picture = ImageFiles.picture(width: 200, height: 150, seed: 5)
        for subsampling in [ImageFiles.Subsampling.s420, .s444] {
            for progressive in [false, true] {
                let file = ImageFiles.jpeg(picture, width: 200, height: 150, quality: 85, subsampling: subsampling,
                                           progressive: progressive)
                for target: Int? in [nil, 50, 40] {
                    let whole = try Self.decode(file, shorterSide: target)
                    for rows in [1, 7, 8, 9, 16, 17, whole.height / 2, whole.height - 1, whole.height, whole.height + 5] {
                        let part = try Self.decode(file, shorterSide: target, rowsNeeded: { height, width in
                            #expect(height == whole.height && width == whole.width)
                            return rows
                        })
                        let kept = min(rows, whole.height)
                        #expect(part.height == whole.height && part.rows == kept)
                        #expect(part.rgb == Array(whole.rgb[..<(3 * whole.width * kept)]),
                                "\(subsampling), progressive \(progressive), target \(target ?? 0), rows \(rows)")
                    }
                }
            }
        }
    }

    @Test("hostile files: empty, not an image, truncated, a header claiming a huge image, a file too large — one message naming the file")
    func hostile() throws {
        #expect(Self.message { _ = try Self.decode([]) } == "test-image: empty file (0 bytes): replace it with a good copy or "
                + "remove it (`batchaug-dist data check DIR` lists every bad file)")
        let gif = Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0, 0]
        #expect(Self.message { _ = try Self.decode(gif) }.hasPrefix(
            "test-image: not a JPEG or PNG image (it begins with 47 49 46 38 39 61 01 00, which looks like a GIF): convert it"))
        #expect(Self.message { _ = try Self.decode(Array("<html><body>404</body></html>".utf8)) }.contains("an HTML or XML page"))

        let picture = ImageFiles.picture(width: 64, height: 64)
        let jpeg = ImageFiles.jpeg(picture, width: 64, height: 64)
        let truncatedJPEG = Self.message { _ = try Self.decode(Array(jpeg.prefix(jpeg.count / 2))) }
        #expect(truncatedJPEG.hasPrefix("test-image: corrupt JPEG image (Premature end of JPEG file): replace it"), "\(truncatedJPEG)")
        let png = ImageFiles.png(picture.map(Int.init), width: 64, height: 64, colorType: .rgb)
        let truncatedPNG = Self.message { _ = try Self.decode(Array(png.prefix(png.count - 40))) }
        #expect(truncatedPNG.hasPrefix("test-image: corrupt PNG image ("), "\(truncatedPNG)")
        #expect(Self.message { _ = try Self.decode(Array(jpeg.prefix(20))) }.hasPrefix("test-image: corrupt JPEG image ("))

        // Headers claiming 60000×60000 (JPEG: the SOF0 marker's fields; PNG: IHDR with a right CRC):
        // refused before any buffer is allocated for the pixels.
        var huge = jpeg
        let sof = try #require((0 ..< huge.count - 9).first { huge[$0] == 0xFF && huge[$0 + 1] == 0xC0 })
        huge.replaceSubrange((sof + 5) ..< (sof + 9), with: [0xEA, 0x60, 0xEA, 0x60])
        let decoder = ImageDecoder()
        let buffer = ByteBuffer()
        let hugeMessage = Self.message { _ = try huge.withUnsafeBytes { try decoder.decode($0, path: "huge.jpg", shorterSide: nil, into: buffer) } }
        #expect(hugeMessage == "huge.jpg: 60000×60000 = 3600000000 pixels, more than --max-image-pixels 89478485 allows (a guard "
                + "against decompression bombs; nothing was allocated): shrink the image, or raise --max-image-pixels if it is genuine")
        let hugePNG = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + ImageFiles.chunk("IHDR", [0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60, 8, 2, 0, 0, 0]) + Array(png.dropFirst(33))
        let hugePNGMessage = Self.message { _ = try hugePNG.withUnsafeBytes { try decoder.decode($0, path: "huge.png", shorterSide: nil, into: buffer) } }
        #expect(hugePNGMessage.hasPrefix("huge.png: 60000×60000 = 3600000000 pixels, more than --max-image-pixels"), "\(hugePNGMessage)")
        #expect(buffer.capacity <= 1, "nothing allocated for the refused images")
        // The limit is the option's: a 64×64 image is refused at 4,000 pixels, not at 4,096.
        #expect(Self.message { _ = try Self.decode(jpeg, maxPixels: 4000) }.contains("64×64 = 4096 pixels, more than --max-image-pixels 4000"))
        #expect(try Self.decode(jpeg, maxPixels: 4096).width == 64)
        // A file larger than any image within the limit could be: refused before it is decoded.
        let bloated = jpeg + [UInt8](repeating: 0, count: (1 << 20) + 8 * 4000)
        #expect(Self.message { _ = try Self.decode(bloated, maxPixels: 4000) }.contains("more than any image of at most --max-image-pixels"))
    }

    @Test("Pillow reads the same pixels: generated JPEG and PNG files, and the hymenoptera photographs",
          .enabled(if: pillowPython != nil, "python3 with Pillow is not installed (pip install pillow)"))
    func sameAsPillow() throws {
        let directory = NSTemporaryDirectory() + "batchaug-pillow-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (width, height) = (45, 31)
        let picture = ImageFiles.picture(width: width, height: height, seed: 9)
        let count = width * height
        let samples = picture.map(Int.init)
        var cmyk: [UInt8] = [], rgba: [Int] = [], grayAlpha: [Int] = []
        for i in 0 ..< count {
            cmyk += [picture[3 * i], picture[3 * i + 1], picture[3 * i + 2], 180]
            rgba += [samples[3 * i], samples[3 * i + 1], samples[3 * i + 2], i % 256]
            grayAlpha += [samples[3 * i], 128]
        }
        let gray: [UInt8] = (0 ..< count).map { picture[3 * $0] }
        var files: [(String, [UInt8])] = []
        files.append(("444.jpg", ImageFiles.jpeg(picture, width: width, height: height)))
        files.append(("420.jpg", ImageFiles.jpeg(picture, width: width, height: height, quality: 80, subsampling: .s420)))
        files.append(("422-progressive.jpg", ImageFiles.jpeg(picture, width: width, height: height, subsampling: .s422, progressive: true)))
        files.append(("gray.jpg", ImageFiles.jpeg(gray, width: width, height: height, subsampling: .gray)))
        files.append(("cmyk.jpg", ImageFiles.jpeg(cmyk, width: width, height: height, cmyk: true)))
        files.append(("rgb.png", ImageFiles.png(samples, width: width, height: height, colorType: .rgb)))
        files.append(("rgba.png", ImageFiles.png(rgba, width: width, height: height, colorType: .rgba)))
        files.append(("gray-alpha.png", ImageFiles.png(grayAlpha, width: width, height: height, colorType: .grayAlpha)))
        files.append(("palette.png", ImageFiles.png((0 ..< count).map { $0 % 3 }, width: width, height: height, colorType: .palette,
                                                    palette: [1, 2, 3, 100, 150, 200, 250, 0, 5], transparency: [0])))
        files = files.map { ("\(directory)/\($0.0)", $0.1) }
        for (path, bytes) in files { try ImageFiles.write(bytes, to: path) }
        var paths = files.map(\.0)
        if let hymenoptera = hymenopteraDirectory {
            let folder = try ImageFolder(root: hymenoptera)
            paths += (folder.train.paths + folder.validation.paths).map { hymenoptera + "/" + $0 }
        }
        let pillow = try ImageFiles.pillowRGB(paths, python: try #require(pillowPython))
        #expect(pillow.count == paths.count)
        let decoder = ImageDecoder()
        let buffer = ByteBuffer()
        var different: [String] = []
        for (path, reference) in zip(paths, pillow) {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let image = try bytes.withUnsafeBytes { try decoder.decode($0, path: path, shorterSide: nil, into: buffer) }
            let ours = Array(UnsafeBufferPointer(start: image.base, count: image.byteCount))
            if image.width != reference.width || image.height != reference.height || ours != reference.rgb {
                different.append("\(path): \(image.width)×\(image.height) vs \(reference.width)×\(reference.height), "
                    + "mean difference \(ours.count == reference.rgb.count ? Self.meanAbsoluteDifference(ours, reference.rgb) : -1)")
            }
        }
        #expect(different.isEmpty, "\(different.count) of \(paths.count) differ: \(different.prefix(5))")
    }

    @Test("fuzzed JPEG and PNG files: an image or a DatasetError, never a crash or a hang")
    func fuzzDecoders() {
        let picture = ImageFiles.picture(width: 24, height: 16, seed: 1)
        let valid = [
            ImageFiles.jpeg(picture, width: 24, height: 16, quality: 70, subsampling: .s420),
            ImageFiles.jpeg(picture, width: 24, height: 16, progressive: true),
            ImageFiles.jpeg((0 ..< 384).flatMap { (i: Int) -> [UInt8] in [picture[3 * i], 0, 99, 200] }, width: 24, height: 16, cmyk: true),
            ImageFiles.png(picture.map(Int.init), width: 24, height: 16, colorType: .rgb),
            ImageFiles.png((0 ..< 384).map { $0 % 3 }, width: 24, height: 16, colorType: .palette, palette: [1, 2, 3, 4, 5, 6, 7, 8, 9],
                           transparency: [7]),
            ImageFiles.png((0 ..< 384).flatMap { (i: Int) -> [Int] in [i * 99 % 65536, i * 7] }, width: 24, height: 16, colorType: .grayAlpha,
                           bitDepth: 16),
        ]
        let decoder = ImageDecoder(maxPixels: 1 << 20)
        let buffer = ByteBuffer()
        let tried = fuzz("image decoders", valid: valid) { bytes in
            do {
                _ = try bytes.withUnsafeBytes {
                    try decoder.decode($0, path: "fuzz", shorterSide: bytes.count % 3 == 0 ? nil : 5, rowsNeeded: { h, _ in h / 2 },
                                       into: buffer)
                }
            } catch is DatasetError {
            } catch {
                Issue.record("not a DatasetError: \(error)")
            }
        }
        #expect(tried > 100)
    }
}

import CZlib
import Foundation

/// An 8-bit RGB or RGBA, non-interlaced PNG decoded to RGB pixels: enough to check a browser's
/// screenshot (Chromium writes that kind).
struct PNGImage {
    let width: Int
    let height: Int
    /// width × height × 3 bytes, row by row.
    let rgb: [UInt8]

    struct Unsupported: Error, CustomStringConvertible {
        let description: String
    }

    init(contentsOf url: URL) throws {
        let data = [UInt8](try Data(contentsOf: url))
        guard data.count > 8, data.prefix(8) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else {
            throw Unsupported(description: "\(url.path) is not a PNG file")
        }
        func word(_ at: Int) -> Int { data[at ..< at + 4].reduce(0) { $0 << 8 | Int($1) } }
        var position = 8, compressed: [UInt8] = []
        var header: (width: Int, height: Int, depth: UInt8, color: UInt8, interlace: UInt8)?
        while position + 8 <= data.count {
            let length = word(position), type = String(decoding: data[position + 4 ..< position + 8], as: UTF8.self)
            let body = data[position + 8 ..< min(position + 8 + length, data.count)]
            if type == "IHDR" { header = (word(position + 8), word(position + 12), body[body.startIndex + 8], body[body.startIndex + 9], body[body.startIndex + 12]) }
            if type == "IDAT" { compressed += body }
            position += 12 + length
        }
        guard let header, header.depth == 8, header.color == 2 || header.color == 6, header.interlace == 0 else {
            throw Unsupported(description: "\(url.path): only 8-bit RGB(A) non-interlaced PNG is decoded here")
        }
        let channels = header.color == 6 ? 4 : 3, stride = header.width * channels
        var raw = [UInt8](repeating: 0, count: header.height * (stride + 1))
        var rawLength = uLongf(raw.count)
        let status = uncompress(&raw, &rawLength, compressed, uLong(compressed.count))
        guard status == Z_OK, Int(rawLength) == raw.count else { throw Unsupported(description: "\(url.path): zlib status \(status)") }
        var pixels = [UInt8](repeating: 0, count: header.height * stride)
        for row in 0 ..< header.height {
            let filter = raw[row * (stride + 1)]
            for i in 0 ..< stride {
                let x = raw[row * (stride + 1) + 1 + i]
                let a = i >= channels ? Int(pixels[row * stride + i - channels]) : 0
                let b = row > 0 ? Int(pixels[(row - 1) * stride + i]) : 0
                let c = row > 0 && i >= channels ? Int(pixels[(row - 1) * stride + i - channels]) : 0
                let predicted: Int
                switch filter {
                case 0: predicted = 0
                case 1: predicted = a
                case 2: predicted = b
                case 3: predicted = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
                default: throw Unsupported(description: "\(url.path): filter \(filter)")
                }
                pixels[row * stride + i] = UInt8((Int(x) + predicted) & 0xFF)
            }
        }
        width = header.width
        height = header.height
        rgb = channels == 3 ? pixels : (0 ..< width * height).flatMap { pixels[$0 * 4 ..< $0 * 4 + 3] }
    }

    /// How many pixels lie within `tolerance` of the colour "#rrggbb" in every channel.
    func count(near hex: String, tolerance: Int = 10) -> Int {
        let value = Int(hex.dropFirst(), radix: 16) ?? 0
        let target = [(value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF]
        var found = 0
        for pixel in 0 ..< width * height
        where (0 ..< 3).allSatisfy({ abs(Int(rgb[pixel * 3 + $0]) - target[$0]) <= tolerance }) {
            found += 1
        }
        return found
    }
}

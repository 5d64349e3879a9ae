import ArgumentParser
import Formatting

/// Option parsers that explain what is wrong; swift-argument-parser prefixes the option's name.
enum Parse {
    /// `4K,64K,1M`: byte counts, each a whole number of 4-byte floats.
    static func floatBufferSizes(_ argument: String) throws -> [Int] {
        try parseList(argument) { item in
            let bytes = try ByteSize.parse(item)
            guard bytes % 4 == 0 else {
                throw ValidationError("size '\(item)' is \(bytes) bytes, not a whole number of 4-byte floats")
            }
            return bytes
        }
    }

    /// `0,1,1000`: non-negative counts.
    static func counts(_ argument: String) throws -> [Int] {
        try parseList(argument) { item in
            guard let n = Int(item.filter { !$0.isWhitespace }), n >= 0 else {
                throw ValidationError("'\(item)' is not a non-negative count")
            }
            return n
        }
    }
}

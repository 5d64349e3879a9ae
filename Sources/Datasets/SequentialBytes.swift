import CZlib

/// A file's bytes in order — as stored, or decompressed on the fly if it is gzip — for formats
/// read front to back (IDX). Plain files skip by seeking, so a rank reads only its own records;
/// a gzip stream cannot be entered in the middle, so skipping decompresses and discards.
protocol SequentialBytes: AnyObject {
    var path: String { get }
    /// Fills `buffer` completely or throws (`.truncated` when the data ends first).
    func readExactly(into buffer: UnsafeMutableRawBufferPointer) throws
    /// Moves forward `count` bytes.
    func skip(_ count: Int) throws
    /// How many bytes follow the current position. A gzip stream is decompressed to its end for
    /// this, which also checks its CRC and length trailer.
    func remainingCount() throws -> Int
}

/// Opens `path` as plain bytes or, when its name ends in `.gz`, as a gzip stream.
func openSequential(_ path: String, counters: IOCounters?) throws -> any SequentialBytes {
    let file = try DataFile(path: path, counters: counters)
    return path.hasSuffix(".gz") ? try GzipBytes(file: file) : PlainBytes(file: file)
}

/// An uncompressed file: reads are `pread`s at a moving offset, skips cost nothing.
final class PlainBytes: SequentialBytes {
    let file: DataFile
    private var offset = 0

    init(file: DataFile) { self.file = file }

    var path: String { file.path }

    func readExactly(into buffer: UnsafeMutableRawBufferPointer) throws {
        try file.readExactly(at: offset, into: buffer)
        offset += buffer.count
    }

    func skip(_ count: Int) throws { offset += count }

    func remainingCount() throws -> Int { file.size - offset }
}

/// A gzip file decompressed with zlib's `inflate` as it is read, 256 KiB of compressed input at a
/// time. Multi-member files (concatenated gzip streams) are read as one stream, as gunzip does.
final class GzipBytes: SequentialBytes {
    let file: DataFile
    private let stream: UnsafeMutablePointer<z_stream>   // zlib keeps a pointer to it: it must not move
    private let input: UnsafeMutableRawBufferPointer
    private let discard: UnsafeMutableRawBufferPointer
    private var fileOffset = 0
    private var decompressed = 0
    private var ended = false
    private static let chunk = 256 << 10

    init(file: DataFile) throws {
        self.file = file
        input = .allocate(byteCount: Self.chunk, alignment: 64)
        let got: Int
        do { got = try file.read(at: 0, into: input) } catch { input.deallocate(); throw error }
        guard got >= 2, input[0] == 0x1f, input[1] == 0x8b else {
            let first = input.prefix(min(got, 2)).map { String($0, radix: 16) }.joined()
            input.deallocate()
            throw DatasetError(path: file.path, .corruptGzip(
                reason: got < 2 ? "the file is too short to be gzip (\(file.size) bytes)"
                    : "not a gzip file (first bytes 0x\(first), expected 0x1f8b)"))
        }
        fileOffset = got
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        discard = .allocate(byteCount: Self.chunk, alignment: 64)
        stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = UInt32(got)
        // 16 + 15: a gzip wrapper (header and CRC-32/length trailer checked) and a 32 KiB window.
        let status = inflateInit2_(stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate(); input.deallocate(); discard.deallocate()
            throw DatasetError(path: file.path, .corruptGzip(reason: "zlib could not start (status \(status))"))
        }
    }

    /// The most bytes this file can decompress to: deflate never compresses better than 1032:1.
    var largestPossibleSize: Int { file.size * 1032 + 1024 }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
        discard.deallocate()
    }

    var path: String { file.path }

    func readExactly(into buffer: UnsafeMutableRawBufferPointer) throws {
        let produced = try inflate(into: buffer)
        if produced < buffer.count {
            throw DatasetError(path: path, .truncated(actual: decompressed, expected: decompressed - produced + buffer.count))
        }
    }

    func skip(_ count: Int) throws {
        var left = count
        while left > 0 {
            let piece = UnsafeMutableRawBufferPointer(rebasing: discard[0 ..< min(left, discard.count)])
            let produced = try inflate(into: piece)
            if produced < piece.count {
                throw DatasetError(path: path, .truncated(actual: decompressed, expected: decompressed + left - produced))
            }
            left -= produced
        }
    }

    func remainingCount() throws -> Int {
        var total = 0
        while true {
            let produced = try inflate(into: discard)
            total += produced
            if produced < discard.count { return total }
        }
    }

    /// Decompresses into `buffer` until it is full or the stream ends; returns the bytes produced.
    private func inflate(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        stream.pointee.next_out = base.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = UInt32(buffer.count)
        while stream.pointee.avail_out > 0 && !ended {
            if stream.pointee.avail_in == 0 {
                let got = try file.read(at: fileOffset, into: input)
                if got == 0 {
                    throw DatasetError(path: path, .truncatedGzip(compressedBytes: fileOffset))
                }
                fileOffset += got
                stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_in = UInt32(got)
            }
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            switch status {
            case Z_OK, Z_BUF_ERROR:
                continue
            case Z_STREAM_END:
                try startNextMemberOrEnd()
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                throw DatasetError(path: path, .corruptGzip(reason: message))
            }
        }
        let produced = buffer.count - Int(stream.pointee.avail_out)
        decompressed += produced
        return produced
    }

    /// After a member's end: another gzip member follows (continue), or nothing does (the end);
    /// any other trailing bytes are an error.
    private func startNextMemberOrEnd() throws {
        let pending = Int(stream.pointee.avail_in)
        let trailing = pending + (file.size - fileOffset)
        guard trailing > 0 else {
            ended = true
            return
        }
        var magic = (UInt8(0), UInt8(0))
        if pending >= 2 {
            magic = (stream.pointee.next_in[0], stream.pointee.next_in[1])
        } else {
            // Re-read the two bytes from the file (one may still be in the input buffer).
            _ = try withUnsafeMutableBytes(of: &magic) { try file.read(at: fileOffset - pending, into: $0) }
        }
        guard trailing >= 2, magic == (0x1f, 0x8b) else {
            throw DatasetError(path: path, .corruptGzip(reason: "\(trailing) bytes of trailing data after the end of the gzip stream"))
        }
        inflateReset(stream)
    }
}

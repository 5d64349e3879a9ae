/// A regular file inside a tar archive: its name and where its bytes are in the archive.
struct TarMember: Equatable, Sendable {
    let name: String
    /// Offset of the first data byte in the archive.
    let offset: Int
    let size: Int
}

/// The tar format as far as shards need it (POSIX.1-1988 ustar with the POSIX.1-2001 pax and GNU
/// long-name extensions that Python's `tarfile` and GNU tar write): 512-byte headers with octal
/// fields and a checksum, each followed by the member's data padded to 512 bytes, the archive
/// ending with zero blocks.
enum TarArchive {
    static let block = 512

    /// The regular files of the archive `file`, in order, reading only the headers (the data is
    /// skipped by offset). Directories and pax global headers are skipped; links, devices and
    /// other member types are refused, as are bad checksums and members running past the end.
    static func members(of file: DataFile) throws -> [TarMember] {
        var members: [TarMember] = []
        var header = [UInt8](repeating: 0, count: block)
        var position = 0
        var longName: String? = nil, paxPath: String? = nil, paxSize: Int? = nil
        func fail(_ what: String) -> DatasetError {
            DatasetError(path: file.path, .layout("not a tar archive, or a damaged one: \(what) (re-create the shard with "
                + "`batchaug-dist data pack`)"))
        }
        while position + block <= file.size {
            try header.withUnsafeMutableBytes { try file.readExactly(at: position, into: $0) }
            if header.allSatisfy({ $0 == 0 }) { return members }
            guard let stored = octal(header[148 ..< 156]) else { throw fail("the header at byte \(position) has no checksum") }
            let unsigned = header.indices.reduce(0) { $0 + (148 ..< 156 ~= $1 ? 32 : Int(header[$1])) }
            let signed = header.indices.reduce(0) { $0 + (148 ..< 156 ~= $1 ? 32 : Int(Int8(bitPattern: header[$1]))) }
            guard stored == unsigned || stored == signed else {
                throw fail("the header at byte \(position) has checksum \(stored), its bytes add up to \(unsigned)")
            }
            guard let declared = paxSize ?? size(header[124 ..< 136]), declared >= 0, declared <= file.size else {
                throw fail("the header at byte \(position) gives an impossible size")
            }
            let dataStart = position + block
            guard dataStart + declared <= file.size else {
                throw DatasetError(path: file.path, .truncated(actual: file.size, expected: dataStart + declared))
            }
            let type = header[156]
            switch type {
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
                var name = longName ?? paxPath ?? text(header[0 ..< 100])
                if longName == nil && paxPath == nil && header[257 ..< 263].elementsEqual("ustar\0".utf8) {
                    let prefix = text(header[345 ..< 500])
                    if !prefix.isEmpty { name = prefix + "/" + name }
                }
                members.append(TarMember(name: name, offset: dataStart, size: declared))
                (longName, paxPath, paxSize) = (nil, nil, nil)
            case UInt8(ascii: "5"), UInt8(ascii: "g"):
                (longName, paxPath, paxSize) = (nil, nil, nil)
            case UInt8(ascii: "L"):
                longName = text(try data(of: file, at: dataStart, count: min(declared, 1 << 16))[...])
            case UInt8(ascii: "x"):
                let records = try data(of: file, at: dataStart, count: min(declared, 1 << 20))
                (paxPath, paxSize) = paxRecords(records)
            case UInt8(ascii: "K"):
                break
            default:
                throw fail("member '\(text(header[0 ..< 100]))' at byte \(position) is of type '\(Character(Unicode.Scalar(type)))' "
                    + "(a link or special file); shards hold regular files only")
            }
            position = dataStart + (declared + block - 1) / block * block
        }
        guard position == file.size else { throw DatasetError(path: file.path, .truncated(actual: file.size, expected: position + block)) }
        return members
    }

    private static func data(of file: DataFile, at offset: Int, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try file.readExactly(at: offset, into: $0) }
        return bytes
    }

    /// The text of a NUL-padded field.
    static func text(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// An octal field (digits, optionally surrounded by spaces and ended by NUL or space).
    static func octal(_ field: ArraySlice<UInt8>) -> Int? {
        var value = 0, digits = 0
        for byte in field {
            if byte == 0 || (byte == 32 && digits > 0) { break }
            if byte == 32 { continue }
            guard (48 ... 55).contains(byte), value < Int.max >> 3 else { return nil }
            value = value << 3 | Int(byte - 48)
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    /// The size field: octal, or GNU's base-256 (first byte 0x80) for sizes of 8 GiB and more.
    static func size(_ field: ArraySlice<UInt8>) -> Int? {
        guard let first = field.first, first & 0x80 != 0 else { return octal(field) }
        guard first == 0x80 else { return nil }   // negative
        var value = 0
        for byte in field.dropFirst() {
            guard value < Int.max >> 8 else { return nil }
            value = value << 8 | Int(byte)
        }
        return value
    }

    /// The `path` and `size` of pax records ("LENGTH KEY=VALUE\n" each).
    static func paxRecords(_ bytes: [UInt8]) -> (path: String?, size: Int?) {
        var path: String? = nil, size: Int? = nil
        var start = 0
        while start < bytes.count {
            guard let space = bytes[start...].firstIndex(of: 32),
                  let length = Int(String(decoding: bytes[start ..< space], as: UTF8.self)), length > 0,
                  start + length <= bytes.count else { break }
            let record = bytes[(space + 1) ..< (start + length)].dropLast(bytes[start + length - 1] == 10 ? 1 : 0)
            if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                let key = String(decoding: record[record.startIndex ..< equals], as: UTF8.self)
                let value = String(decoding: record[(equals + 1)...], as: UTF8.self)
                if key == "path" { path = value }
                if key == "size" { size = Int(value) }
            }
            start += length
        }
        return (path, size)
    }

    /// A ustar header for a regular file `name` (at most 100 bytes) of `size` bytes, owned by
    /// root, mode 0644, time 0 (so that packing the same folder twice gives the same bytes).
    static func header(name: String, size: Int) -> [UInt8] {
        precondition(name.utf8.count <= 100 && size >= 0 && size < 1 << 33)
        var header = [UInt8](repeating: 0, count: block)
        func put(_ text: String, at offset: Int) { for (i, byte) in text.utf8.enumerated() { header[offset + i] = byte } }
        func octalField(_ value: Int, digits: Int) -> String {
            let text = String(value, radix: 8)
            return String(repeating: "0", count: max(0, digits - text.count)) + text
        }
        put(name, at: 0)
        put("0000644", at: 100)
        put("0000000", at: 108)
        put("0000000", at: 116)
        put(octalField(size, digits: 11), at: 124)
        put(octalField(0, digits: 11), at: 136)
        put("        ", at: 148)
        header[156] = UInt8(ascii: "0")
        put("ustar\0", at: 257)
        put("00", at: 263)
        let sum = header.reduce(0) { $0 + Int($1) }
        put(octalField(sum, digits: 6) + "\0 ", at: 148)
        return header
    }

    /// Zero bytes that pad `size` bytes of data to whole blocks.
    static func padding(after size: Int) -> Int { (block - size % block) % block }

    /// The end of an archive: two zero blocks.
    static let end = [UInt8](repeating: 0, count: 2 * block)
}

/// A sample of a WebDataset shard: the members sharing a key (the name up to the first dot of its
/// last component), here an image (`.jpg`, `.jpeg` or `.png`) and its class (`.cls`: the label as
/// decimal text). Other members of a sample (`.txt`, `.json`, …) are ignored.
struct ShardSample: Sendable {
    let key: String
    let image: TarMember
    let label: Int
}

extension TarArchive {
    /// The samples of the shard `file`, in the order of the archive. A sample without an image or
    /// without a class, two images, a class that is not a number in 0..<classes, or a key met
    /// again after other keys is refused, naming the shard and the key.
    static func samples(of file: DataFile, classes: Int) throws -> [ShardSample] {
        var samples: [ShardSample] = []
        var seen = Set<String>()
        var key: String? = nil, image: TarMember? = nil, label: Int? = nil
        func fail(_ key: String, _ what: String) -> DatasetError {
            DatasetError(path: file.path, .layout("sample '\(key)' \(what) (each sample is KEY.jpg or KEY.png with KEY.cls, "
                + "its class index, side by side; `batchaug-dist data pack` writes them so)"))
        }
        func finish() throws {
            guard let current = key else { return }
            guard let found = image else { throw fail(current, "has no .jpg, .jpeg or .png member") }
            guard let value = label else { throw fail(current, "has no .cls member") }
            samples.append(ShardSample(key: current, image: found, label: value))
        }
        for member in try members(of: file) {
            let (memberKey, ext) = splitKey(member.name)
            if memberKey != key {
                try finish()
                guard seen.insert(memberKey).inserted else { throw fail(memberKey, "appears twice, apart") }
                (key, image, label) = (memberKey, nil, nil)
            }
            if ImageFolder.imageExtensions.contains(ext) {
                guard image == nil else { throw fail(memberKey, "has two images") }
                image = member
            } else if ext == "cls" {
                guard member.size <= 32 else { throw fail(memberKey, "has a .cls member of \(member.size) bytes, not a class index") }
                let text = String(decoding: try data(of: file, at: member.offset, count: member.size), as: UTF8.self)
                guard let value = Int(text.filter { !$0.isWhitespace }), (0 ..< classes).contains(value) else {
                    throw fail(memberKey, "has class '\(text.filter { !$0.isWhitespace })', not a class index in 0…\(classes - 1)")
                }
                label = value
            }
        }
        try finish()
        return samples
    }

    /// WebDataset's split of a member name into key and extension: the key runs to the first dot
    /// of the last path component; the extension (lowercased) is the rest.
    static func splitKey(_ name: String) -> (key: String, extension: String) {
        let lastSlash = name.lastIndex(of: "/").map { name.index(after: $0) } ?? name.startIndex
        guard let dot = name[lastSlash...].firstIndex(of: ".") else { return (name, "") }
        return (String(name[..<dot]), name[name.index(after: dot)...].lowercased())
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `batchaug-dist data pack DIR --output OUT`: a folder of photographs as WebDataset tar shards.
///
/// Each split's samples are written in the folder's order (`ImageFolder`) into
/// `OUT/train-000000.tar`, … and `OUT/val-000000.tar`, …: sample i of a split is the members
/// `iiiiiiii.jpg` (or `.png`, by the file's first bytes) holding the file's bytes unchanged, and
/// `iiiiiiii.cls` holding its label as decimal text — the key is the sample's number in the split,
/// so a shard's samples keep their folder numbers. A new shard starts before a sample that would
/// take the current one past `shardBytes`, or (`shards: K`) at the boundaries that split the
/// samples in K near-equal parts (`ShardPartition`: with K = N ranks, shard r is rank r's folder
/// shard). `OUT/shards.json` (`ShardIndex`) is written last, each shard under a temporary name
/// until it is complete. Headers carry no time or owner: packing a folder twice gives the same bytes.
public enum ShardPacking {
    public struct Outcome: Sendable {
        public let index: ShardIndex
        /// Bytes of all shards.
        public let bytes: Int
        /// Files of the folder that are not samples.
        public let skipped: [String]
    }

    /// How a split is cut into shards.
    public enum Cut: Sendable, Equatable {
        /// At most this many bytes per shard (a larger single sample gets a shard of its own).
        case bytes(Int)
        /// This many shards of near-equal numbers of samples.
        case shards(Int)
    }

    /// Packs the folder at `root` into `output` (created if needed; refused if it already holds
    /// shards). `progress` is told about each shard written.
    public static func pack(folder root: String, validationFraction: Double? = nil, output: String, cut: Cut,
                            progress: (String) -> Void = { _ in }) throws -> Outcome {
        let folder = try ImageFolder(root: root, validationFraction: validationFraction, requiringValidation: false)
        try makeDirectory(output)
        let indexPath = joinPath(output, ShardIndex.fileName)
        if fileExists(indexPath) {
            throw DatasetError(path: indexPath, .layout("already exists: --output names a new directory for the shards "
                + "(or remove the old ones first)"))
        }
        var total = 0
        var lists: [Split: [ShardIndex.Shard]] = [:]
        for split in Split.allCases {
            let listing = folder.listing(split)
            let name = split == .train ? "train" : "val"
            let sizes = try listing.paths.map { path -> Int in
                let file = try DataFile(path: joinPath(root, path), counters: nil)
                guard file.size > 0 else { throw DatasetError(path: file.path, .emptyFile) }
                return file.size
            }
            var shards: [ShardIndex.Shard] = []
            for (number, range) in try boundaries(sizes: sizes, cut: cut, path: joinPath(root, name)).enumerated() {
                let file = "\(name)-\(digits(number, 6)).tar"
                let bytes = try writeShard(joinPath(output, file), samples: range, listing: listing, root: root)
                shards.append(ShardIndex.Shard(file: file, samples: range.count))
                total += bytes
                progress("\(file): \(range.count) samples, \(bytes) bytes")
            }
            lists[split] = shards
        }
        let index = ShardIndex(classes: folder.classes, train: lists[.train] ?? [], val: lists[.test] ?? [])
        try index.write(directory: output)
        return Outcome(index: index, bytes: total, skipped: folder.skipped)
    }

    /// The bytes one sample takes in a shard: its two headers and padded data.
    static func footprint(imageBytes: Int, labelBytes: Int) -> Int {
        2 * TarArchive.block + imageBytes + TarArchive.padding(after: imageBytes) + labelBytes + TarArchive.padding(after: labelBytes)
    }

    /// The samples of each shard of a split whose files have `sizes` bytes.
    static func boundaries(sizes: [Int], cut: Cut, path: String) throws -> [Range<Int>] {
        guard !sizes.isEmpty else { return [] }
        switch cut {
        case .shards(let count):
            guard count >= 1, count <= sizes.count else {
                throw DatasetError(path: path, .invalidRequest("\(sizes.count) samples cannot fill \(count) shards"))
            }
            let partition = ShardPartition(count: sizes.count, ranks: count)
            return (0 ..< count).map { partition.range(of: $0) }
        case .bytes(let limit):
            var ranges: [Range<Int>] = []
            var start = 0, used = TarArchive.end.count
            for (i, size) in sizes.enumerated() {
                let needed = footprint(imageBytes: size, labelBytes: 8)
                if i > start && used + needed > limit {
                    ranges.append(start ..< i)
                    (start, used) = (i, TarArchive.end.count)
                }
                used += needed
            }
            ranges.append(start ..< sizes.count)
            return ranges
        }
    }

    /// Writes the samples `samples` of `listing` as a tar file at `path` (through a temporary
    /// name); returns its size.
    private static func writeShard(_ path: String, samples: Range<Int>, listing: ImageFolder.Listing, root: String) throws -> Int {
        let temporary = path + ".partial"
        let output = try OutputFile(path: temporary)
        let buffer = ByteBuffer()
        for sample in samples {
            let source = joinPath(root, listing.paths[sample])
            let file = try DataFile(path: source, counters: nil)
            buffer.reserve(file.size)
            let bytes = UnsafeMutableRawBufferPointer(start: buffer.base, count: file.size)
            try file.readExactly(at: 0, into: bytes)
            let format = ImageFormat.of(UnsafeRawBufferPointer(bytes))
            let ext = format.map { $0 == .jpeg ? "jpg" : "png" }
                ?? String(source[source.index(after: source.lastIndex(of: ".")!)...]).lowercased()
            let key = digits(sample, 8)
            try output.append(TarArchive.header(name: key + "." + ext, size: bytes.count))
            try output.append(UnsafeRawBufferPointer(bytes))
            try output.append([UInt8](repeating: 0, count: TarArchive.padding(after: bytes.count)))
            let label = Array("\(listing.labels[sample])".utf8)
            try output.append(TarArchive.header(name: key + ".cls", size: label.count))
            try output.append(label + [UInt8](repeating: 0, count: TarArchive.padding(after: label.count)))
        }
        try output.append(TarArchive.end)
        try output.finish()
        guard rename(temporary, path) == 0 else {
            throw DatasetError(path: path, .unreadable(reason: "cannot rename \(temporary) to it: \(errorText(errno))"))
        }
        return output.written
    }

    private static func makeDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component + "/"
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw DatasetError(path: path, .unreadable(reason: "cannot create the directory: \(errorText(errno))"))
            }
        }
        guard directoryExists(path) else { throw DatasetError(path: path, .layout("exists and is not a directory")) }
    }

    /// `value` in decimal, zero-padded to `count` digits.
    static func digits(_ value: Int, _ count: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, count - text.count)) + text
    }
}

/// A file written from the start, every failure a `DatasetError` naming it.
final class OutputFile {
    let path: String
    private var descriptor: Int32
    private(set) var written = 0

    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw DatasetError(path: path, .unreadable(reason: "cannot create: \(errorText(errno))")) }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = write(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw DatasetError(path: path, .unreadable(reason: "cannot write: \(errorText(errno))"))
            }
            done += n
        }
        written += bytes.count
    }

    func finish() throws {
        let status = close(descriptor)
        descriptor = -1
        guard status == 0 else { throw DatasetError(path: path, .unreadable(reason: "cannot write: \(errorText(errno))")) }
    }
}

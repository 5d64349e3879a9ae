import Foundation

/// `shards.json`, written by `batchaug-dist data pack` beside the tar shards it makes: the class
/// names (by label) and, per split, the shard files in order with their numbers of samples.
///
/// The samples of a split are numbered through its shards in order (shard s's first sample is
/// the sum of the counts before it), which for a pack of a folder is the folder's own order. The
/// counts let every rank agree on the steps of an epoch and on every sample's number while it
/// opens only its own shards.
public struct ShardIndex: Codable, Equatable, Sendable {
    public static let fileName = "shards.json"
    public static let formatName = "batchaug-dist shards"

    public struct Shard: Codable, Equatable, Sendable {
        /// The file name, relative to the index's directory.
        public var file: String
        public var samples: Int

        public init(file: String, samples: Int) {
            self.file = file
            self.samples = samples
        }
    }

    public var format = ShardIndex.formatName
    public var version = 1
    public var classes: [String]
    public var train: [Shard]
    public var val: [Shard]

    public init(classes: [String], train: [Shard], val: [Shard]) {
        self.classes = classes
        self.train = train
        self.val = val
    }

    public func shards(_ split: Split) -> [Shard] { split == .train ? train : val }

    /// Samples in `split`.
    public func count(_ split: Split) -> Int { shards(split).reduce(0) { $0 + $1.samples } }

    /// The number of the first sample of each shard of `split`, and the total.
    func firstSamples(_ split: Split) -> [Int] {
        shards(split).reduce(into: [0]) { $0.append($0.last! + $1.samples) }
    }

    /// The training samples of each of `ranks` ranks, rank r owning shards r, r+N, r+2N, …;
    /// throws if there are fewer training shards than ranks (`directory` is named).
    public func rankCounts(ranks: Int, directory: String) throws -> [Int] {
        guard train.count >= ranks else {
            throw DatasetError(path: joinPath(directory, Self.fileName), .layout(
                "lists \(train.count) training shard\(train.count == 1 ? "" : "s") for \(ranks) ranks, and each rank reads "
                    + "shards of its own: pack with `--shards \(ranks)` (or a smaller --shard-size) to give every rank one"))
        }
        return (0 ..< ranks).map { r in stride(from: r, to: train.count, by: ranks).reduce(0) { $0 + train[$1].samples } }
    }

    /// Reads and checks `directory/shards.json`.
    public static func read(directory: String) throws -> ShardIndex {
        let path = joinPath(directory, fileName)
        guard directoryExists(directory) else {
            throw DatasetError(path: directory, .layout("no such directory; --data-dir names the folder of the shards and their "
                + "\(fileName) (`batchaug-dist data pack` makes them)"))
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError(path: path, .layout(fileExists(path) ? "cannot be read" : "missing: shards need the index "
                + "`batchaug-dist data pack DIR --output \(directory)` writes beside them"))
        }
        let index: ShardIndex
        do {
            index = try JSONDecoder().decode(ShardIndex.self, from: data)
        } catch {
            throw DatasetError(path: path, .layout("is not an index of shards (\(describe(error))): re-create it with "
                + "`batchaug-dist data pack`"))
        }
        try index.check(path: path)
        return index
    }

    /// Writes `directory/shards.json` (atomically: a temporary file renamed).
    public func write(directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let path = joinPath(directory, Self.fileName)
        do {
            try (try encoder.encode(self) + Data("\n".utf8)).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw DatasetError(path: path, .unreadable(reason: "cannot write: \(error.localizedDescription)"))
        }
    }

    func check(path: String) throws {
        func fail(_ what: String) -> DatasetError { DatasetError(path: path, .layout(what + ": re-create it with `batchaug-dist data pack`")) }
        guard format == Self.formatName, version == 1 else { throw fail("format '\(format)' version \(version), expected '\(Self.formatName)' 1") }
        guard !classes.isEmpty, Set(classes).count == classes.count else { throw fail("its classes must be distinct names, at least one") }
        guard !train.isEmpty else { throw fail("lists no training shard") }
        for shard in train + val {
            guard shard.samples >= 1, !shard.file.isEmpty, !shard.file.contains("/"), !shard.file.hasPrefix(".") else {
                throw fail("shard '\(shard.file)' with \(shard.samples) samples is not a file of this directory with samples")
            }
        }
        guard count(.train) < Int(UInt32.max) && count(.test) < Int(UInt32.max) else { throw fail("holds too many samples") }
    }
}

private func describe(_ error: any Error) -> String {
    switch error {
    case DecodingError.keyNotFound(let key, _): "no \"\(key.stringValue)\""
    case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
        "a wrong value at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
    case DecodingError.dataCorrupted: "not JSON"
    default: "\(error)"
    }
}

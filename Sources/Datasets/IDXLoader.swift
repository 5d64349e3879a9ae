/// MNIST-style IDX files (LeCun's format): a big-endian header — magic 0x00000803 (unsigned
/// bytes, 3 dimensions) then count, rows, columns for images; 0x00000801 then count for labels —
/// followed by the data. Either file may be gzip-compressed (`.gz`), and is then read through
/// zlib as it is decompressed.
///
/// A rank seeks to its own records in uncompressed files. A gzip stream cannot be entered in the
/// middle: every rank decompresses the whole file (discarding the records of other ranks) and so
/// checks the whole stream, CRC included — every rank therefore sees the same errors, and the
/// bytes read from disk are the whole compressed file on every rank.
enum IDXLoader {
    static let imagesMagic: UInt32 = 0x0000_0803
    static let labelsMagic: UInt32 = 0x0000_0801

    /// Base names of a split's files (`.gz` is tried first, then the name as is).
    static func baseNames(split: Split) -> (images: String, labels: String) {
        split == .train ? ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
                        : ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    }

    /// `directory/name.gz` if it exists, else `directory/name` (whose absence is then reported).
    static func locate(_ name: String, in directory: String) -> String {
        let compressed = joinPath(directory, name + ".gz")
        return fileExists(compressed) ? compressed : joinPath(directory, name)
    }

    static func load(_ descriptor: DatasetDescriptor, directory: String, split: Split,
                     rank: Int, ranks: Int, counters: IOCounters?) throws -> ImageShard {
        let names = baseNames(split: split)
        let imagesPath = locate(names.images, in: directory)
        let labelsPath = locate(names.labels, in: directory)
        guard fileExists(imagesPath) || fileExists(labelsPath) || directoryExists(directory) else {
            throw DatasetError(path: directory, .missingFile)
        }
        let images = try openSequential(imagesPath, counters: counters)
        let labels = try openSequential(labelsPath, counters: counters)

        let imageHeader = try readHeader(images, words: 4)
        guard imageHeader[0] == imagesMagic else {
            throw DatasetError(path: images.path, .badMagic(actual: imageHeader[0], expected: imagesMagic))
        }
        let count = Int(imageHeader[1]), rows = Int(imageHeader[2]), columns = Int(imageHeader[3])
        guard descriptor.channels == 1, rows == descriptor.height, columns == descriptor.width else {
            throw DatasetError(path: images.path, .wrongDimensions(
                actual: "\(rows)×\(columns)", expected: "\(descriptor.height)×\(descriptor.width)"))
        }
        let labelHeader = try readHeader(labels, words: 2)
        guard labelHeader[0] == labelsMagic else {
            throw DatasetError(path: labels.path, .badMagic(actual: labelHeader[0], expected: labelsMagic))
        }
        let labelCount = Int(labelHeader[1])
        guard labelCount == count else {
            throw DatasetError(path: images.path, .countMismatch(images: count, labels: labelCount, labelsFile: labels.path))
        }
        let pixelBytes = descriptor.recordBytes
        // Plain files: the size is known now, so a wrong size is reported before any data is read.
        try checkPlainSize(images, header: 16, records: count, recordBytes: pixelBytes)
        try checkPlainSize(labels, header: 8, records: count, recordBytes: 1)
        // Gzip files: a count that the file could not hold is rejected before anything is allocated.
        try checkPossibleSize(images, header: 16, records: count, recordBytes: pixelBytes)
        try checkPossibleSize(labels, header: 8, records: count, recordBytes: 1)
        let range = try ownRange(total: count, rank: rank, ranks: ranks, directory: directory)

        let storage = PixelStorage(count: range.count * pixelBytes)
        try images.skip(range.lowerBound * pixelBytes)
        try images.readExactly(into: UnsafeMutableRawBufferPointer(start: storage.base, count: range.count * pixelBytes))
        try checkRest(images, expected: (count - range.upperBound) * pixelBytes, header: 16, records: count, recordBytes: pixelBytes)

        var labelBytes = [UInt8](repeating: 0, count: range.count)
        try labels.skip(range.lowerBound)
        try labelBytes.withUnsafeMutableBytes { try labels.readExactly(into: $0) }
        try checkRest(labels, expected: count - range.upperBound, header: 8, records: count, recordBytes: 1)
        var values = [Int32](repeating: 0, count: range.count)
        for (i, byte) in labelBytes.enumerated() {
            guard Int(byte) < descriptor.classes else {
                throw DatasetError(path: labels.path, .labelOutOfRange(record: range.lowerBound + i, label: Int(byte),
                                                                       classes: descriptor.classes))
            }
            values[i] = Int32(byte)
        }
        return ImageShard(descriptor: descriptor, split: split, globalRange: range, totalCount: count,
                          storage: storage, labels: values)
    }

    /// `words` big-endian 32-bit header words; a file shorter than the header is truncated.
    private static func readHeader(_ source: any SequentialBytes, words: Int) throws -> [UInt32] {
        var bytes = [UInt8](repeating: 0, count: 4 * words)
        try bytes.withUnsafeMutableBytes { try source.readExactly(into: $0) }
        return (0 ..< words).map { w in
            (0 ..< 4).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[4 * w + $1]) }
        }
    }

    private static func checkPlainSize(_ source: any SequentialBytes, header: Int, records: Int, recordBytes: Int) throws {
        guard let plain = source as? PlainBytes else { return }
        let expected = header + records * recordBytes
        if plain.file.size != expected {
            throw DatasetError(path: source.path, .wrongSize(
                actual: plain.file.size, expected: "\(expected) (\(header)-byte header + \(records) records × \(recordBytes) bytes)"))
        }
    }

    private static func checkPossibleSize(_ source: any SequentialBytes, header: Int, records: Int, recordBytes: Int) throws {
        guard let gzip = source as? GzipBytes else { return }
        let promised = header + records * recordBytes
        if promised > gzip.largestPossibleSize {
            throw DatasetError(path: source.path, .wrongSize(
                actual: gzip.file.size, expected: "a gzip file of at least \(promised / 1032) bytes: the header promises "
                    + "\(records) records (\(promised) bytes decompressed), more than deflate can pack into \(gzip.file.size) bytes"))
        }
    }

    /// After this rank's records: the rest of a gzip stream must hold exactly the other ranks'
    /// records (checked by decompressing it; plain files were checked by size).
    private static func checkRest(_ source: any SequentialBytes, expected: Int, header: Int, records: Int, recordBytes: Int) throws {
        guard source is GzipBytes else { return }
        let rest = try source.remainingCount()
        if rest != expected {
            let actual = header + records * recordBytes - expected + rest
            let wanted = header + records * recordBytes
            if rest < expected {
                throw DatasetError(path: source.path, .truncated(actual: actual, expected: wanted))
            }
            throw DatasetError(path: source.path, .wrongSize(
                actual: actual, expected: "\(wanted) decompressed (\(header)-byte header + \(records) records × \(recordBytes) bytes)"))
        }
    }
}

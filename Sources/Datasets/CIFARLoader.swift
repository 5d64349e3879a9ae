/// The official CIFAR binary releases: fixed-size records (label bytes, then 3×32×32 planar
/// pixels) in one or more files read as one sequence. A rank opens every file of the split (to
/// validate its size and count the records) but reads only the records of its own shard, by
/// offset.
enum CIFARLoader {
    /// File names of a split, in the order their records are numbered.
    static func fileNames(_ kind: DatasetKind, split: Split) -> [String] {
        switch (kind, split) {
        case (.cifar10, .train): (1 ... 5).map { "data_batch_\($0).bin" }
        case (.cifar10, .test): ["test_batch.bin"]
        case (_, .train): ["train.bin"]
        case (_, .test): ["test.bin"]
        }
    }

    /// Label bytes before the pixels of each record: CIFAR-100 stores a coarse then a fine label.
    static func labelBytes(_ kind: DatasetKind) -> Int { kind == .cifar100 ? 2 : 1 }

    static func load(_ descriptor: DatasetDescriptor, directory: String, split: Split,
                     rank: Int, ranks: Int, counters: IOCounters?) throws -> ImageShard {
        let labelBytes = labelBytes(descriptor.kind)
        let pixelBytes = descriptor.recordBytes
        let recordSize = labelBytes + pixelBytes
        var files: [DataFile] = []
        var firstRecord = [0]           // global index of each file's first record, and the total
        for name in fileNames(descriptor.kind, split: split) {       // each file checked as it is opened
            let file = try DataFile(path: joinPath(directory, name), counters: counters)
            files.append(file)
            guard file.size > 0, file.size % recordSize == 0 else {
                let labels = labelBytes == 1 ? "1 label byte" : "\(labelBytes) label bytes"
                throw DatasetError(path: file.path, .wrongSize(
                    actual: file.size,
                    expected: "a positive multiple of \(recordSize) (\(labels) + \(pixelBytes) pixel bytes per record; "
                        + "10,000 records = \(10_000 * recordSize) bytes in the official files)"))
            }
            firstRecord.append(firstRecord.last! + file.size / recordSize)
        }
        let total = firstRecord.last!
        let range = try ownRange(total: total, rank: rank, ranks: ranks, directory: directory)

        let storage = PixelStorage(count: range.count * pixelBytes)
        var labels = [Int32](repeating: 0, count: range.count)
        let chunkRecords = max(1, (4 << 20) / recordSize)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkRecords * recordSize, alignment: 64)
        defer { scratch.deallocate() }
        let fineClasses = descriptor.classes
        for (f, file) in files.enumerated() {
            let fileRange = firstRecord[f] ..< firstRecord[f + 1]
            let wanted = fileRange.clamped(to: range)
            var next = wanted.lowerBound
            while next < wanted.upperBound {
                let n = min(chunkRecords, wanted.upperBound - next)
                let bytes = UnsafeMutableRawBufferPointer(rebasing: scratch[0 ..< n * recordSize])
                try file.readExactly(at: (next - fileRange.lowerBound) * recordSize, into: bytes)
                for k in 0 ..< n {
                    let record = bytes.baseAddress! + k * recordSize
                    let recordInFile = next + k - fileRange.lowerBound
                    let local = next + k - range.lowerBound
                    if labelBytes == 2 {
                        let coarse = Int(record.load(as: UInt8.self))
                        guard coarse < 20 else {
                            throw DatasetError(path: file.path, .labelOutOfRange(record: recordInFile, label: coarse, classes: 20))
                        }
                    }
                    let label = Int(record.load(fromByteOffset: labelBytes - 1, as: UInt8.self))
                    guard label < fineClasses else {
                        throw DatasetError(path: file.path, .labelOutOfRange(record: recordInFile, label: label, classes: fineClasses))
                    }
                    labels[local] = Int32(label)
                    (storage.base + local * pixelBytes).update(
                        from: (record + labelBytes).assumingMemoryBound(to: UInt8.self), count: pixelBytes)
                }
                next += n
            }
        }
        return ImageShard(descriptor: descriptor, split: split, globalRange: range, totalCount: total,
                          storage: storage, labels: labels)
    }
}

/// Rank `rank`'s records of a split of `total`, or an error if the request cannot be met.
func ownRange(total: Int, rank: Int, ranks: Int, directory: String) throws -> Range<Int> {
    guard ranks >= 1, rank >= 0, rank < ranks else {
        throw DatasetError(path: directory, .invalidRequest("rank \(rank) is not in 0..<\(ranks)"))
    }
    guard total >= ranks else {
        throw DatasetError(path: directory, .invalidRequest("\(total) records cannot be shared by \(ranks) ranks"))
    }
    return ShardPartition(count: total, ranks: ranks).range(of: rank)
}

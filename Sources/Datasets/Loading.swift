import Formatting

extension ImageShard {
    /// Loads rank `rank`'s shard (of `ranks`) of `split` of a dataset.
    ///
    /// - `directory`: where the files are; nil means `DatasetDescriptor.defaultDirectory`
    ///   (an error for datasets without one). Ignored for `.synthetic`.
    /// - `synthetic`: the generated dataset's parameters (used only for `.synthetic`).
    /// - `counters`: receives the bytes read from disk and the seconds spent loading.
    ///
    /// Fixed-size-record formats (CIFAR, uncompressed IDX) are read only where this rank's records
    /// are; gzip files are decompressed whole by every rank (see `IDXLoader`). Every file is
    /// validated; any problem is a `DatasetError` naming the file.
    public static func load(_ kind: DatasetKind, directory: String? = nil, split: Split,
                            rank: Int = 0, ranks: Int = 1, synthetic: SyntheticSpec = SyntheticSpec(),
                            counters: IOCounters? = nil) throws -> ImageShard {
        let clock = ContinuousClock()
        let start = clock.now
        defer { counters?.addDecodeSeconds((clock.now - start).seconds) }
        if kind.isPhotos {
            throw DatasetError(path: directory ?? kind.rawValue, .invalidRequest(
                "\(kind.rawValue) holds photographs of any size, read through PhotoShard, not fixed-size records"))
        }
        if kind == .synthetic, let problem = synthetic.problem() {
            throw DatasetError(path: "synthetic", .invalidRequest(problem))
        }
        let descriptor = DatasetDescriptor.of(kind, synthetic: synthetic)
        guard kind == .synthetic || directory != nil || descriptor.defaultDirectory != nil else {
            throw DatasetError(path: kind.rawValue, .invalidRequest("no data directory given, and \(kind.rawValue) has no default"))
        }
        let directory = directory ?? descriptor.defaultDirectory ?? ""
        switch kind {
        case .synthetic:
            return try SyntheticGenerator(spec: synthetic).shard(split: split, rank: rank, ranks: ranks)
        case .cifar10, .cifar100:
            return try CIFARLoader.load(descriptor, directory: directory, split: split, rank: rank, ranks: ranks, counters: counters)
        case .mnist, .fashionMNIST:
            return try IDXLoader.load(descriptor, directory: directory, split: split, rank: rank, ranks: ranks, counters: counters)
        case .folder, .shards:
            preconditionFailure("refused above")
        }
    }
}

/// The datasets batchaug-dist reads, by the name used on the command line (`--dataset`).
public enum DatasetKind: String, CaseIterable, Sendable {
    /// The official binary release: `data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`.
    case cifar10
    /// The official binary release: `train.bin`, `test.bin` (coarse and fine label bytes).
    case cifar100
    /// IDX files, gzip-compressed or not.
    case mnist
    /// IDX files, gzip-compressed or not (Debian: `dataset-fashion-mnist`).
    case fashionMNIST = "fashion-mnist"
    /// Generated from a seed (`SyntheticSpec`); needs no files. The default when no dataset is named.
    case synthetic
    /// The user's own photographs, JPEG or PNG, one folder per class: `DIR/train/<class>/…` and
    /// `DIR/val/<class>/…` (`ImageFolder`). Decoded step by step, at the size `--size` asks for.
    case folder
    /// Such photographs packed into tar shards (the WebDataset convention, `KEY.jpg` + `KEY.cls`)
    /// with the index `data pack` writes beside them (`ShardIndex`).
    case shards

    /// Whether the samples are photographs of any size, decoded when a step needs them, rather than
    /// fixed-size records loaded whole at start (`PhotoShard` rather than `ImageShard`).
    public var isPhotos: Bool { self == .folder || self == .shards }
}

/// Which part of a dataset: the training set is sharded and augmented, the test set is sharded
/// for evaluation and used as is.
public enum Split: String, CaseIterable, Sendable {
    case train, test

    /// The number that keys a split's random streams (synthetic records).
    var streamWord: UInt32 { self == .train ? 0 : 1 }
}

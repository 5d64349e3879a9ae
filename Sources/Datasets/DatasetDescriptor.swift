/// What a dataset is, before any file is read: image geometry, classes, sizes of the official
/// splits, the per-channel statistics used for normalisation, where it lives by default and the
/// augmentation it is usually trained with.
public struct DatasetDescriptor: Sendable, Equatable {
    public let kind: DatasetKind
    public let channels: Int
    public let height: Int
    public let width: Int
    public let classes: Int
    /// Per-channel mean of pixel/255 over the training set: normalised = (pixel/255 − mean) / std.
    public let mean: [Float]
    /// Per-channel standard deviation of pixel/255 over the training set (population, over all pixels).
    public let std: [Float]
    /// Where the files are when no directory is given (nil: a directory must be given).
    public let defaultDirectory: String?
    /// The transforms this dataset is usually trained with, in the `--augment` syntax of module
    /// Augmentation (`Transform.parseList`). Kept as text because Augmentation depends on Datasets.
    public let defaultAugmentation: String
    /// Records in the official splits. A loaded directory may hold fewer (any whole number of
    /// records is accepted, so that small test files and subsets load); `ImageShard.totalCount`
    /// is what was found.
    public let trainCount: Int
    public let testCount: Int
    /// The classes' names by label: a folder's class folders, or the publishers' names of a
    /// built-in dataset (`ClassNames`).
    public let classNames: [String]

    public init(kind: DatasetKind, channels: Int, height: Int, width: Int, classes: Int,
                mean: [Float], std: [Float], defaultDirectory: String? = nil,
                defaultAugmentation: String = "none", trainCount: Int, testCount: Int, classNames: [String] = []) {
        precondition(channels > 0 && height > 0 && width > 0 && classes > 0)
        precondition(mean.count == channels && std.count == channels && std.allSatisfy { $0 > 0 })
        self.kind = kind
        self.channels = channels
        self.height = height
        self.width = width
        self.classes = classes
        self.mean = mean
        self.std = std
        self.defaultDirectory = defaultDirectory
        self.defaultAugmentation = defaultAugmentation
        self.trainCount = trainCount
        self.testCount = testCount
        precondition(classNames.isEmpty || classNames.count == classes, "one name per class")
        self.classNames = classNames.isEmpty ? ClassNames.published(kind, classes: classes) : classNames
    }

    /// Bytes of one record's pixels (C×H×W planar).
    public var recordBytes: Int { channels * height * width }

    public func count(of split: Split) -> Int { split == .train ? trainCount : testCount }

    /// The descriptor of `kind`; for `.synthetic` the geometry comes from `synthetic`.
    ///
    /// Normalisation constants are the per-channel mean and population standard deviation of
    /// pixel/255 over each official training set, as published with the datasets' standard training
    /// recipes (CIFAR-10: 0.4914/0.4822/0.4465 and 0.2470/0.2435/0.2616 — not the often-copied
    /// 0.2023/0.1994/0.2010, which are per-image averages of a different statistic). The tests
    /// recompute them on the real files available here (CIFAR-10 copy, Fashion-MNIST).
    public static func of(_ kind: DatasetKind, synthetic: SyntheticSpec = SyntheticSpec()) -> DatasetDescriptor {
        switch kind {
        case .cifar10:
            DatasetDescriptor(kind: kind, channels: 3, height: 32, width: 32, classes: 10,
                              mean: [0.4914, 0.4822, 0.4465], std: [0.2470, 0.2435, 0.2616],
                              defaultAugmentation: "crop=4,flip", trainCount: 50_000, testCount: 10_000)
        case .cifar100:
            DatasetDescriptor(kind: kind, channels: 3, height: 32, width: 32, classes: 100,
                              mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762],
                              defaultAugmentation: "crop=4,flip", trainCount: 50_000, testCount: 10_000)
        case .mnist:
            DatasetDescriptor(kind: kind, channels: 1, height: 28, width: 28, classes: 10,
                              mean: [0.1307], std: [0.3081],
                              defaultAugmentation: "crop=2", trainCount: 60_000, testCount: 10_000)
        case .fashionMNIST:
            DatasetDescriptor(kind: kind, channels: 1, height: 28, width: 28, classes: 10,
                              mean: [0.2860], std: [0.3530],
                              defaultDirectory: "/usr/share/datasets/fashion-mnist",
                              defaultAugmentation: "crop=2", trainCount: 60_000, testCount: 10_000)
        case .synthetic:
            synthetic.descriptor
        case .folder, .shards:
            preconditionFailure("photographs are described by what their directory holds: PhotoDataset.describe")
        }
    }

    /// Photographs decoded to `size`×`size` RGB: normalised with the ImageNet statistics (the
    /// constants torchvision's models and recipes use for photographs), trained by default with
    /// random-resized crops and flips (the ImageNet recipe).
    public static func photos(_ kind: DatasetKind, classNames: [String], size: Int, trainCount: Int,
                              testCount: Int) -> DatasetDescriptor {
        precondition(kind.isPhotos)
        return DatasetDescriptor(kind: kind, channels: 3, height: size, width: size, classes: classNames.count,
                                 mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], defaultAugmentation: "rrc,flip",
                                 trainCount: trainCount, testCount: testCount, classNames: classNames)
    }
}

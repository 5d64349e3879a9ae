/// The training settings that a regime can change from one epoch on: what the optimizer and the
/// batch augmenter need to know at the start of an epoch.
///
/// `learningRate` is the rate for the *base* batch size, before a scaling rule or warm-up is
/// applied (see `LearningRateSchedule`): the same meaning as `--lr` and as `lr=` in a regime.
public struct EpochSettings: Equatable, Sendable, Codable {
    /// η for the base batch size, before scaling and warm-up.
    public var learningRate: Double
    public var momentum: Double
    /// The L2 penalty coefficient of SGD with weight decay.
    public var weightDecay: Double
    /// M, the batch-augmentation factor: augmented copies of every sample in a step.
    public var copies: Int
    /// B, the distinct samples of one step over all ranks (each of N ranks takes B/N).
    public var batchSize: Int

    public init(learningRate: Double, momentum: Double, weightDecay: Double, copies: Int, batchSize: Int) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.copies = copies
        self.batchSize = batchSize
    }

    /// M·B, the number of samples whose gradients one step averages: what batch augmentation
    /// enlarges without reading more data (Hoffer et al. 2019, "Augment your batch").
    public var effectiveBatchSize: Int { copies * batchSize }

    /// The value of one setting, as a `Double` (copies and batch size are whole numbers).
    public func value(of key: Key) -> Double {
        switch key {
        case .learningRate: learningRate
        case .momentum: momentum
        case .weightDecay: weightDecay
        case .copies: Double(copies)
        case .batchSize: Double(batchSize)
        }
    }

    /// The settings that differ in `later`, in the order of `Key.allCases`; empty if none do.
    public func changes(to later: EpochSettings) -> [SettingChange] {
        Key.allCases.compactMap { key in
            let (before, after) = (value(of: key), later.value(of: key))
            return before == after ? nil : SettingChange(key: key, before: before, after: after)
        }
    }

    /// Checks every value against its range, for settings that come from flags or a file.
    ///
    /// - Throws: `ScheduleError` naming the first setting out of range, by its regime key
    ///   (`lr`, `momentum`, …), which is also the name of its command-line option.
    public func validate() throws(ScheduleError) {
        for key in Key.allCases {
            let value = value(of: key)
            if let reason = key.rangeProblem(value) {
                throw ScheduleError(option: key.rawValue, value: key.format(value), reason: reason)
            }
        }
    }
}

extension EpochSettings {
    /// A setting that a regime entry can change, named as in the regime language and on the
    /// command line.
    public enum Key: String, CaseIterable, Sendable, Codable {
        case learningRate = "lr"
        case momentum
        case weightDecay = "weight-decay"
        case copies
        case batchSize = "batch-size"

        /// Copies and batch size count samples; the others are real numbers.
        public var isWholeNumber: Bool { self == .copies || self == .batchSize }

        /// The valid keys as a list for error messages: "lr, momentum, weight-decay, copies, batch-size".
        static let validList = allCases.map(\.rawValue).joined(separator: ", ")

        /// Why `value` cannot be this setting, or nil if it can.
        func rangeProblem(_ value: Double) -> String? {
            switch self {
            case .learningRate, .weightDecay:
                value.isFinite && value >= 0 ? nil : "\(rawValue) must be a finite number ≥ 0, got \(format(value))"
            case .momentum:
                (0 ..< 1).contains(value) ? nil : "momentum must lie in [0, 1), got \(format(value))"
            case .copies, .batchSize:
                value >= 1 ? nil : "\(rawValue) must be a whole number ≥ 1, got \(format(value))"
            }
        }

        /// The value as the regime language writes it: whole numbers without a fraction, real
        /// numbers in Swift's shortest form that reads back as the same `Double`.
        func format(_ value: Double) -> String {
            isWholeNumber && value.isFinite && value == value.rounded() && abs(value) < 0x1p63
                ? String(Int(value)) : "\(value)"
        }
    }
}

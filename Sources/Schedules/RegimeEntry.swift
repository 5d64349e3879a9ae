/// One entry of a regime: from `epoch` on, the settings given here replace the ones in force;
/// the settings left `nil` keep their value.
public struct RegimeEntry: Equatable, Sendable, CustomStringConvertible {
    public var epoch: Int
    public var learningRate: Double?
    public var momentum: Double?
    public var weightDecay: Double?
    public var copies: Int?
    public var batchSize: Int?

    public init(epoch: Int, learningRate: Double? = nil, momentum: Double? = nil, weightDecay: Double? = nil,
                copies: Int? = nil, batchSize: Int? = nil) {
        self.epoch = epoch
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.copies = copies
        self.batchSize = batchSize
    }

    /// The value this entry sets for `key`, or nil if it leaves that setting alone.
    public func value(of key: EpochSettings.Key) -> Double? {
        switch key {
        case .learningRate: learningRate
        case .momentum: momentum
        case .weightDecay: weightDecay
        case .copies: copies.map(Double.init)
        case .batchSize: batchSize.map(Double.init)
        }
    }

    /// The keys this entry sets, in the order of `EpochSettings.Key.allCases`.
    public var keys: [EpochSettings.Key] { EpochSettings.Key.allCases.filter { value(of: $0) != nil } }

    /// `settings` with this entry's values in place of the ones it sets.
    public func applied(to settings: EpochSettings) -> EpochSettings {
        var result = settings
        if let learningRate { result.learningRate = learningRate }
        if let momentum { result.momentum = momentum }
        if let weightDecay { result.weightDecay = weightDecay }
        if let copies { result.copies = copies }
        if let batchSize { result.batchSize = batchSize }
        return result
    }

    /// The entry in the regime language, keys in a fixed order: `30:lr=0.01,copies=8`.
    public var description: String {
        let settings = keys.map { key in "\(key.rawValue)=\(key.format(value(of: key)!))" }
        return "\(epoch):" + settings.joined(separator: ",")
    }
}

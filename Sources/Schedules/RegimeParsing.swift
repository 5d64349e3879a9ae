import Formatting

extension Regime {
    /// Parses the regime language.
    ///
    /// ```
    /// regime  = ""  |  entry { ";" entry }
    /// entry   = EPOCH ":" setting { "," setting }
    /// setting = KEY "=" VALUE
    /// ```
    ///
    /// `EPOCH` is a whole number ≥ 0 (the first epoch is 0); entries are in strictly increasing
    /// epoch order. `KEY` is one of `lr`, `momentum`, `weight-decay`, `copies`, `batch-size`
    /// (case-insensitive), each at most once per entry. `lr` and `weight-decay` are finite numbers
    /// ≥ 0, `momentum` lies in [0, 1), `copies` and `batch-size` are whole numbers ≥ 1.
    /// Whitespace around any part is ignored; an empty or blank string is the empty regime.
    ///
    /// - Throws: `RegimeError` quoting the first wrong entry, its position, and what is wrong.
    public init(parsing text: String) throws(RegimeError) {
        guard !text.trimmingWhitespace.isEmpty else {
            self.init()
            return
        }
        var entries: [RegimeEntry] = []
        for (index, piece) in text.split(separator: ";", omittingEmptySubsequences: false).enumerated() {
            let written = piece.trimmingWhitespace
            let entry = try Self.parseEntry(written, position: index + 1)
            if let reason = Self.problem(with: entry, after: entries.last) {
                throw RegimeError(position: index + 1, entry: written, reason: reason)
            }
            entries.append(entry)
        }
        self.init(checkedEntries: entries)
    }

    /// One entry, `EPOCH:key=value[,key=value…]`, already trimmed. Checks the syntax and that each
    /// value is a number of the right kind; ranges and order are checked by `problem(with:after:)`.
    private static func parseEntry(_ text: String, position: Int) throws(RegimeError) -> RegimeEntry {
        func failure(_ reason: String) -> RegimeError { RegimeError(position: position, entry: text, reason: reason) }
        if text.isEmpty {
            throw failure("empty entry (two ';' in a row, or a ';' at the end)")
        }
        guard let colon = text.firstIndex(of: ":") else {
            throw failure("missing ':' between the epoch and the settings, e.g. '30:lr=0.01'")
        }
        let epochText = text[..<colon].trimmingWhitespace
        guard let epoch = Int(epochText), epoch >= 0 else {
            throw failure(epochText.isEmpty
                ? "missing epoch before ':', e.g. '30:lr=0.01'"
                : "the epoch '\(epochText)' is not a whole number ≥ 0")
        }
        let settingsText = text[text.index(after: colon)...]
        if settingsText.trimmingWhitespace.isEmpty {
            throw failure("no settings after ':'; give at least one of \(EpochSettings.Key.validList)")
        }
        var entry = RegimeEntry(epoch: epoch)
        for piece in settingsText.split(separator: ",", omittingEmptySubsequences: false) {
            let setting = piece.trimmingWhitespace
            if setting.isEmpty {
                throw failure("empty setting (two ',' in a row, or a ',' at the end)")
            }
            guard let equals = setting.firstIndex(of: "=") else {
                throw failure("setting '\(setting)' has no '='; write key=value, e.g. lr=0.01")
            }
            let name = setting[..<equals].trimmingWhitespace
            let valueText = setting[setting.index(after: equals)...].trimmingWhitespace
            guard let key = EpochSettings.Key(rawValue: name.lowercased()) else {
                throw failure(name.isEmpty
                    ? "missing setting name before '=' in '\(setting)'"
                    : "unknown setting '\(name)'; the settings are \(EpochSettings.Key.validList)")
            }
            if entry.value(of: key) != nil {
                throw failure("\(key.rawValue) is set twice in one entry")
            }
            if valueText.isEmpty {
                throw failure("missing value after '\(key.rawValue)='")
            }
            switch key {
            case .copies, .batchSize:
                guard let number = Int(valueText) else {
                    throw failure(Double(valueText) == nil
                        ? "'\(valueText)' is not a number (\(key.rawValue) takes a whole number ≥ 1, e.g. \(key.rawValue)=8)"
                        : "\(key.rawValue) must be a whole number ≥ 1, got '\(valueText)'")
                }
                if key == .copies { entry.copies = number } else { entry.batchSize = number }
            case .learningRate, .momentum, .weightDecay:
                guard let number = Double(valueText) else {
                    let example = key == .momentum ? "a number in [0, 1), e.g. momentum=0.9" : "a number ≥ 0, e.g. \(key.rawValue)=0.1"
                    throw failure("'\(valueText)' is not a number (\(key.rawValue) takes \(example))")
                }
                switch key {
                case .learningRate: entry.learningRate = number
                case .momentum: entry.momentum = number
                default: entry.weightDecay = number
                }
            }
        }
        return entry
    }
}

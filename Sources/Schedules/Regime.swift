/// A training regime: the epochs at which the learning rate, momentum, weight decay, the number
/// of batch-augmentation copies or the batch size change.
///
/// Written on the command line as `--regime "0:lr=0.1;81:lr=0.01;122:lr=0.001"` (see
/// `init(parsing:)`). One language covers step decay, Smith et al.'s "don't decay the learning
/// rate, increase the batch size" (`"0:lr=0.1;30:batch-size=640;60:batch-size=3200"`, ICLR 2018)
/// and its batch-augmentation form (`"0:copies=1;30:copies=8"`), and any mix of them.
///
/// The settings in force at an epoch are cumulative: the base settings, overridden by every
/// entry whose epoch is at most that epoch, in order. Entries are in strictly increasing epoch
/// order and every value lies in its range; the initialisers make sure of it.
public struct Regime: Equatable, Sendable, CustomStringConvertible {
    /// In strictly increasing epoch order, each setting at least one value.
    public let entries: [RegimeEntry]

    /// The empty regime: the base settings hold for the whole run.
    public init() {
        entries = []
    }

    /// A regime from entries built in code; checked exactly as the parser checks text.
    ///
    /// - Throws: `RegimeError` naming the first entry (by its description and position) that is
    ///   out of order, sets nothing, or has a value out of range.
    public init(entries: [RegimeEntry]) throws(RegimeError) {
        for (index, entry) in entries.enumerated() {
            if let reason = Self.problem(with: entry, after: index > 0 ? entries[index - 1] : nil) {
                throw RegimeError(position: index + 1, entry: entry.description, reason: reason)
            }
        }
        self.entries = entries
    }

    /// Entries already checked by the caller.
    init(checkedEntries: [RegimeEntry]) {
        entries = checkedEntries
    }

    /// The settings in force at `epoch` (0-based): `base` overridden by every entry with
    /// `entry.epoch <= epoch`, in order. Before the first entry, `base` holds.
    public func settings(atEpoch epoch: Int, base: EpochSettings) -> EpochSettings {
        var settings = base
        for entry in entries where entry.epoch <= epoch {
            settings = entry.applied(to: settings)
        }
        return settings
    }

    /// The epochs at which an entry takes effect, increasing. An entry may set a value equal to
    /// the one in force; `LearningRateSchedule.phases` lists only the epochs where something differs.
    public var boundaries: [Int] { entries.map(\.epoch) }

    /// The regime in its own language, which `init(parsing:)` reads back as an equal regime;
    /// the empty string for the empty regime.
    public var description: String { entries.map(\.description).joined(separator: ";") }

    /// Why `entry` cannot follow `previous` in a regime, or nil if it can.
    static func problem(with entry: RegimeEntry, after previous: RegimeEntry?) -> String? {
        if entry.epoch < 0 {
            return "the epoch must be a whole number ≥ 0, got \(entry.epoch)"
        }
        if let previous, entry.epoch == previous.epoch {
            return "epoch \(entry.epoch) already has an entry; put all of an epoch's settings in one entry, "
                + "e.g. '\(entry.epoch):lr=0.01,copies=8'"
        }
        if let previous, entry.epoch < previous.epoch {
            return "epoch \(entry.epoch) comes after epoch \(previous.epoch); entries must be in strictly increasing epoch order"
        }
        if entry.keys.isEmpty {
            return "the entry sets nothing; give at least one of \(EpochSettings.Key.validList)"
        }
        for key in entry.keys {
            if let reason = key.rangeProblem(entry.value(of: key)!) { return reason }
        }
        return nil
    }
}

extension Regime: Codable {
    /// A regime is stored as its text, so `config.json` shows what the user wrote.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try Regime(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

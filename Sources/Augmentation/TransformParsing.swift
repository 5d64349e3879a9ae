/// A wrong `--augment` list; the description names the entry and what is wrong with it.
public struct TransformListError: Error, CustomStringConvertible, Equatable, Sendable {
    public let entry: String
    public let reason: String
    public var description: String { "augmentation entry '\(entry)': \(reason)" }
}

extension Transform {
    /// Parses an augmentation list: comma-separated entries, whitespace ignored, names case-insensitive.
    ///
    /// | entry | meaning |
    /// |-------|---------|
    /// | `crop`, `crop=P` | pad by P zero pixels (default 4) and crop back to size at a random offset |
    /// | `flip` | horizontal flip with probability ½ |
    /// | `cutout`, `cutout=S`, `cutout=NxS` | N holes (default 1) of side S (default 16) |
    /// | `rrc`, `rrc=A-B`, `rrc=A-B:R-S` | random-resized crop: area fraction in [A, B] (default 0.08-1), aspect ratio in [R, S] (default 0.75-1.3333) |
    /// | `none` | no transform (alone): the plain normalised image |
    ///
    /// `random-resized-crop` is accepted for `rrc`. Each transform may appear once; `crop` and
    /// `rrc` exclude each other (both choose the window). The result is in the order the
    /// transforms are applied (geometry, flip, cutout), whatever the order written.
    public static func parseList(_ text: String) throws -> [Transform] {
        let entries = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { String($0.filter { !$0.isWhitespace }) }
        if entries.count == 1 && entries[0].lowercased() == "none" { return [] }
        var transforms: [Transform] = []
        for entry in entries {
            guard !entry.isEmpty else {
                throw TransformListError(entry: text, reason: "empty entry (write 'none' for no augmentation)")
            }
            let transform = try parse(entry)
            if let same = transforms.first(where: { $0.name == transform.name }) {
                throw TransformListError(entry: entry, reason: "\(same.name) appears more than once")
            }
            if transform.stage == 0, let other = transforms.first(where: { $0.stage == 0 }) {
                throw TransformListError(entry: entry, reason: "\(transform.name) and \(other.name) cannot be combined (both choose the window)")
            }
            transforms.append(transform)
        }
        return transforms.sorted { $0.stage < $1.stage }
    }

    /// One entry of a list.
    public static func parse(_ entry: String) throws -> Transform {
        let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let name = parts[0].lowercased()
        let argument = parts.count > 1 ? parts[1] : nil
        func fail(_ reason: String) -> TransformListError { TransformListError(entry: entry, reason: reason) }
        if argument?.isEmpty == true { throw fail("missing value after '='") }

        switch name {
        case "crop":
            guard let argument else { return .crop(padding: defaultCropPadding) }
            guard let padding = Int(argument), (0 ... 64).contains(padding) else {
                throw fail("the padding must be a whole number of pixels in 0…64")
            }
            return .crop(padding: padding)
        case "flip":
            if argument != nil { throw fail("flip takes no value") }
            return .flip
        case "cutout":
            guard let argument else { return defaultCutout }
            let numbers = argument.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
            guard (1 ... 2).contains(numbers.count), let side = numbers.last!, let holes = numbers.count == 2 ? numbers[0] : 1 else {
                throw fail("expected cutout=SIDE or cutout=HOLESxSIDE, e.g. cutout=1x16")
            }
            guard (1 ... 64).contains(holes) else { throw fail("the number of holes must be in 1…64") }
            guard (1 ... 4096).contains(side) else { throw fail("the hole side must be in 1…4096 pixels") }
            return .cutout(holes: holes, side: side)
        case "rrc", "random-resized-crop":
            guard let argument else { return defaultResizedCrop }
            let ranges = argument.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard ranges.count <= 2, let scale = floatRange(ranges[0]) else {
                throw fail("expected rrc=MIN-MAX or rrc=MIN-MAX:RATIOMIN-RATIOMAX, e.g. rrc=0.08-1:0.75-1.333")
            }
            guard scale.lowerBound > 0, scale.upperBound <= 1 else {
                throw fail("the area fraction must lie in (0, 1], got \(scale.lowerBound)-\(scale.upperBound)")
            }
            var ratio = 0.75 ... Float(4.0 / 3.0)
            if ranges.count == 2 {
                guard let given = floatRange(ranges[1]), given.lowerBound > 0 else {
                    throw fail("the aspect ratio range must be two positive numbers MIN-MAX, e.g. 0.75-1.333")
                }
                ratio = given
            }
            return .resizedCrop(scale: scale, ratio: ratio)
        case "none":
            throw fail("'none' cannot be combined with other transforms")
        default:
            throw fail("unknown transform (known: crop, flip, cutout, rrc, none)")
        }
    }

    /// `A-B` with A ≤ B, both finite.
    private static func floatRange(_ text: String) -> ClosedRange<Float>? {
        let bounds = text.split(separator: "-", omittingEmptySubsequences: false).map { Float($0) }
        guard bounds.count == 2, let low = bounds[0], let high = bounds[1],
              low.isFinite, high.isFinite, low <= high else { return nil }
        return low ... high
    }
}

import Randomness

/// The uses of a run's seed inside the data pipeline. Each gets its own Philox key, derived from
/// the seed, so that the epoch orders, the synthetic records and the augmentation draws (which
/// use the seed itself on the stream (epoch, sample, copy)) never share random numbers even when
/// their stream words coincide.
public enum SeedPurpose: UInt32, Sendable {
    case epochOrder = 0x4F52_4452       // "ORDR"
    case syntheticRecords = 0x5359_4E54 // "SYNT"
    case syntheticClasses = 0x434C_5353 // "CLSS"
    case trainingSubset = 0x5355_4253   // "SUBS"
    case shardOrder = 0x5348_5244       // "SHRD"
    case validationSplit = 0x5641_4C49  // "VALI"
}

/// A 64-bit key for `purpose`, derived from `seed` by one Philox block.
public func derivedSeed(_ seed: UInt64, purpose: SeedPurpose) -> UInt64 {
    let block = Philox4x32(key: seed).block((purpose.rawValue, 0x6B65_7973, 0, 0))
    return UInt64(block.0) << 32 | UInt64(block.1)
}

/// Regime adaptation (Hoffer, Hubara & Soudry 2017, "Train longer, generalize better", NeurIPS 2017): a
/// batch K times larger takes K times fewer steps per epoch; multiplying every epoch boundary of
/// the regime and the epoch count by K restores the number of updates spent at each setting,
/// which closes most of the large-batch generalization gap.
///
/// Only epochs are multiplied. The warm-up length is not: it is given in epochs of the run as
/// it is (Goyal et al. 2017 keep 5 epochs whatever the batch), see `Warmup`.
extension Regime {
    /// The regime with every entry's epoch multiplied by `factor` (K); K = 1 returns it unchanged.
    ///
    /// The settings at epoch e of the adapted regime are those at epoch ⌊e / K⌋ of this one.
    ///
    /// - Throws: `ScheduleError` for `regime-adaptation` if K < 1, or if an epoch × K does not fit in an `Int`.
    public func adapted(by factor: Int) throws(ScheduleError) -> Regime {
        try Self.checkAdaptationFactor(factor)
        var adapted: [RegimeEntry] = []
        for entry in entries {
            var scaled = entry
            scaled.epoch = try Self.multiply(entry.epoch, by: factor, what: "epoch \(entry.epoch) of entry '\(entry)'")
            adapted.append(scaled)
        }
        return Regime(checkedEntries: adapted)
    }

    /// The number of epochs of a run of `epochs` epochs adapted by `factor`: `epochs × K`.
    ///
    /// - Throws: `ScheduleError` for `epochs` if it is below 1, for `regime-adaptation` if K < 1 or
    ///   the product does not fit in an `Int`.
    public static func adaptedEpochCount(_ epochs: Int, by factor: Int) throws(ScheduleError) -> Int {
        guard epochs >= 1 else {
            throw ScheduleError(option: "epochs", value: String(epochs), reason: "the run needs at least 1 epoch")
        }
        try checkAdaptationFactor(factor)
        return try multiply(epochs, by: factor, what: "the epoch count \(epochs)")
    }

    private static func checkAdaptationFactor(_ factor: Int) throws(ScheduleError) {
        guard factor >= 1 else {
            throw ScheduleError(option: "regime-adaptation", value: String(factor),
                                reason: "the factor K must be a whole number ≥ 1 (1 leaves the regime as it is)")
        }
    }

    private static func multiply(_ epoch: Int, by factor: Int, what: String) throws(ScheduleError) -> Int {
        let (product, overflow) = epoch.multipliedReportingOverflow(by: factor)
        guard !overflow else {
            throw ScheduleError(option: "regime-adaptation", value: String(factor),
                                reason: "\(what) × \(factor) is too large")
        }
        return product
    }
}

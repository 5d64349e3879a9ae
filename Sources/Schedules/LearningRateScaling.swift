/// How the learning rate follows the batch size.
///
/// The rules compare the **effective batch** M·B to a base batch: B distinct samples per step
/// (over all ranks) times M batch-augmentation copies of each, i.e. the number of per-sample
/// gradients one step averages. That is the quantity batch augmentation changes (Hoffer et al.
/// 2019, "Augment your batch": M·B samples per step without reading more data), so `--copies`
/// moves the learning rate exactly as a larger `--batch-size` would. Whether that is right for
/// correlated copies is the experiment; `none` keeps the rate fixed.
///
/// - `linear`: η·(M·B / base). Goyal et al. 2017, "Accurate, large minibatch SGD", §2.1: with k
///   times the batch, k SGD steps are approximately one step with k times the rate.
/// - `sqrt`: η·√(M·B / base). Krizhevsky 2014, "One weird trick for parallelizing convolutional
///   neural networks", and Hoffer, Hubara & Soudry 2017, "Train longer, generalize better": keeps the
///   covariance of the update, hence the size of the random walk, the same as at the base batch.
/// - `none`: η as given.
///
/// When a regime changes `batch-size` or `copies` during the run, the factor follows the
/// effective batch of the current epoch (see `LearningRateSchedule`). With `linear`, growing the
/// batch therefore grows the rate too, which keeps Smith et al.'s noise scale ε·N/B constant:
/// for "increase the batch size instead of decaying the learning rate" use `none`.
public enum LearningRateScaling: String, CaseIterable, Sendable, Codable {
    case none
    case linear
    case sqrt

    /// The multiplier of the learning rate given for `baseBatch` when a step averages
    /// `effectiveBatch` (= M·B) per-sample gradients. Both must be ≥ 1.
    public func factor(effectiveBatch: Int, baseBatch: Int) -> Double {
        precondition(effectiveBatch >= 1 && baseBatch >= 1,
                     "batch sizes must be ≥ 1 (effective \(effectiveBatch), base \(baseBatch))")
        let ratio = Double(effectiveBatch) / Double(baseBatch)
        return switch self {
        case .none: 1
        case .linear: ratio
        case .sqrt: ratio.squareRoot()
        }
    }
}

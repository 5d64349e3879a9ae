import Training

/// The studies `batchaug-dist study NAME` runs: one per claim of the papers this project implements.
public enum StudyName: String, CaseIterable, Sendable {
    case copies
    case gradientNorm = "gradient-norm"
    case baVsRa = "ba-vs-ra"
    case increaseBatch = "increase-batch"
    case dropoutCopies = "dropout-copies"

    /// The claim the study tests, with where the papers make it.
    public var claim: String {
        switch self {
        case .copies:
            "Batch augmentation at equal epochs (Hoffer et al., Augment your batch, Fig. 1, Table 1): at the same "
                + "batch B, epochs and learning-rate regime, validation error falls as the number of copies M rises."
        case .gradientNorm:
            "Gradient norm (Augment your batch, Fig. 4, 6, Sec. 4): the L2 norm of a step's gradient falls with M, but "
                + "much less than for a large batch of M·B distinct samples, because the copies are correlated: "
                + "baseline(B) > BA(B, M) > large batch(M·B), BA's reduction far from 1/√M."
        case .baVsRa:
            "BA vs regime adaptation (Augment your batch, Fig. 5/6; Hoffer et al. 2017): with the same number of "
                + "sample instances seen, BA (B, M = k, E epochs) ends at least as good as regime adaptation (batch k·B, "
                + "k·E epochs, regime stretched by k), and its gradient norm lies between the baseline's and RA's."
        case .increaseBatch:
            "Increase the batch instead of decaying the learning rate (Smith et al. 2018): at equal epochs, multiplying "
                + "the batch by f where the regime would divide the learning rate by f reaches about the same error in "
                + "fewer steps; multiplying the copies by f instead reduces gradient noise less (Augment your batch)."
        case .dropoutCopies:
            "Dropout as augmentation (Augment your batch, Sec. 3.3): with no input augmentation, M copies of each "
                + "sample, each with its own dropout mask, still lower the validation error."
        }
    }
}

/// How large a study is: `small` fits this 2-core machine (each study about an hour or less at
/// `-np 2` with two seeds per arm); `paper` is the papers' settings, for a cluster.
public enum StudyScale: String, CaseIterable, Sendable {
    case small, paper
}

/// One arm of a study: a training configuration, run once per seed.
public struct StudyArm: Sendable {
    public let name: String
    /// Everything but the seed and the output directory, which the runner sets.
    public var configuration: TrainingConfiguration
    /// Whether the arm's runs appear as rows of summary.csv (the gradient-norm study's training run
    /// only provides parameters to measure at).
    public var summarized = true
}

/// What a user may change in a preset: the data, the model, the subset and the length. Epoch-based
/// regime boundaries follow `epochs` (they sit at fixed fractions of it).
public struct StudyOverrides: Sendable {
    public var dataset: String?
    public var dataDirectory: String?
    public var model: String?
    public var trainSamples: Int?
    public var epochs: Int?
    public init(dataset: String? = nil, dataDirectory: String? = nil, model: String? = nil, trainSamples: Int? = nil,
                epochs: Int? = nil) {
        self.dataset = dataset
        self.dataDirectory = dataDirectory
        self.model = model
        self.trainSamples = trainSamples
        self.epochs = epochs
    }
}

/// A study: its arms, the gradient-norm measurements (for `gradient-norm`), and what it runs, in words.
public struct StudyDefinition: Sendable {
    public let name: StudyName
    public let scale: StudyScale
    public let arms: [StudyArm]
    /// The measurements at fixed parameters (`gradient-norm` only).
    public let probe: GradientNormProbe.Settings?
    /// The settings every arm shares, as the study chose them (before the arm's own changes).
    public let base: TrainingConfiguration
    /// What the study runs and why these settings, in a few sentences (for `--help` and summary.md).
    public let design: String

    public init(name: StudyName, scale: StudyScale, arms: [StudyArm], probe: GradientNormProbe.Settings?,
                base: TrainingConfiguration, design: String) {
        self.name = name
        self.scale = scale
        self.arms = arms
        self.probe = probe
        self.base = base
        self.design = design
    }

    /// The preset of `name` at `scale`, with the user's overrides applied.
    public static func make(_ name: StudyName, scale: StudyScale, overrides: StudyOverrides = StudyOverrides())
        -> StudyDefinition {
        var base = Self.baseConfiguration(for: name, scale: scale)
        if let dataset = overrides.dataset {
            base.dataset = dataset
            base.dataDirectory = nil
        }
        if let directory = overrides.dataDirectory { base.dataDirectory = directory }
        if let model = overrides.model { base.model = model }
        if let samples = overrides.trainSamples { base.trainSamples = samples }
        if let epochs = overrides.epochs { base.epochs = epochs }
        let epochs = base.epochs
        // The step-decay regime every arm without its own starts from: ÷10 at E/2 and 3E/4 (small) or
        // the papers' ResNet regime (÷10 at 81, 122, 164 of 200 epochs), scaled to E.
        let fractions = scale == .small ? [epochs / 2, epochs * 3 / 4] : [epochs * 81 / 200, epochs * 122 / 200, epochs * 164 / 200]
        // Short runs (a user's --epochs) may put two boundaries on one epoch, or on epoch 0: keep each once.
        let decays = fractions.reduce(into: [Int]()) { kept, epoch in
            if epoch > (kept.last ?? 0) && epoch < epochs { kept.append(epoch) }
        }
        base.regime = Self.regime(learningRate: base.learningRate, factor: 10, at: decays)

        func arm(_ name: String, _ change: (inout TrainingConfiguration) -> Void = { _ in }) -> StudyArm {
            var configuration = base
            change(&configuration)
            return StudyArm(name: name, configuration: configuration)
        }
        let copies = scale == .small ? [2, 4, 8] : [2, 4, 8, 16, 32, 40]
        switch name {
        case .copies, .dropoutCopies:
            let arms = [arm("baseline")] + copies.map { m in arm("ba-\(m)") { $0.copies = m } }
            let design = name == .copies
                ? "Arms baseline (M = 1) and ba-M for M ∈ {\(copies.map(String.init).joined(separator: ", "))}: the same B, "
                    + "epochs, learning-rate regime and ghost batch; only the copies differ, so each arm computes M× the "
                    + "images of the baseline and reads the same samples."
                : "Arms baseline (M = 1) and ba-M, M ∈ {\(copies.map(String.init).joined(separator: ", "))}, with no input "
                    + "augmentation (--augment none) and dropout \(base.dropout): the copies of a sample differ only in "
                    + "their dropout masks."
            return StudyDefinition(name: name, scale: scale, arms: arms, probe: nil, base: base,
                                   design: design + Self.sharedDesign(base, scale: scale))
        case .gradientNorm:
            // Parameters to measure at: the initial ones, and those after a few epochs of baseline
            // training at the initial learning rate.
            let trainedEpochs = scale == .small ? 3 : 10
            var training = arm("baseline-train") {
                $0.epochs = trainedEpochs
                $0.regime = ""
            }
            training.summarized = false
            let factors = scale == .small ? [2, 4, 8, 16] : [2, 4, 8, 16, 32]
            let probe = GradientNormProbe.Settings(base: base, factors: factors, batches: 50,
                                                    points: [0, trainedEpochs], trainingArm: training.name)
            return StudyDefinition(
                name: name, scale: scale, arms: [training], probe: probe, base: base,
                design: "At fixed parameters — the initial ones and those after \(trainedEpochs) epochs of baseline "
                    + "training (lr \(base.learningRate), the arm baseline-train) — the mean over \(probe.batches) batches "
                    + "of ‖g‖, the L2 norm of the mean gradient of the step, with no update in between, for the baseline "
                    + "batch B, BA with M ∈ {\(factors.map(String.init).joined(separator: ", "))} copies of the same B "
                    + "samples (arms ba-M), and a large batch of M·B distinct samples (arms large-M)."
                    + Self.sharedDesign(training.configuration, scale: scale))
        case .baVsRa:
            let k = 4
            let arms = [
                arm("baseline"),
                arm("ba-\(k)") { $0.copies = k },
                arm("ra-\(k)") {
                    $0.batchSize = k * base.batchSize
                    $0.regimeAdaptation = k
                    $0.learningRateScaling = "sqrt"
                    $0.baseBatchSize = base.batchSize
                    // Evaluated after the same numbers of sample instances as the other arms.
                    $0.evalEvery = k * base.evalEvery
                },
            ]
            return StudyDefinition(
                name: name, scale: scale, arms: arms, probe: nil, base: base,
                design: "Arms baseline (B, M = 1, E epochs), ba-\(k) (B, M = \(k), E epochs) and ra-\(k) (batch \(k)·B, "
                    + "M = 1, \(k)·E epochs with every regime epoch × \(k) by --regime-adaptation \(k), learning rate × √\(k) "
                    + "by --lr-scaling sqrt, the recipe of Hoffer et al. 2017): BA and RA see \(k)× the baseline's sample "
                    + "instances in the baseline's number of steps." + Self.sharedDesign(base, scale: scale))
        case .increaseBatch:
            let f = scale == .small ? 4 : 5
            let decay = arm("decay-lr") { $0.regime = Self.regime(learningRate: base.learningRate, factor: Double(f), at: decays) }
            let batch = arm("increase-batch") {
                $0.regime = Self.regime(start: "lr=\(base.learningRate)", key: "batch-size", first: base.batchSize,
                                        factor: f, at: decays)
            }
            let copiesArm = arm("increase-copies") {
                $0.regime = Self.regime(start: "lr=\(base.learningRate)", key: "copies", first: 1, factor: f, at: decays)
            }
            return StudyDefinition(
                name: name, scale: scale, arms: [decay, batch, copiesArm], probe: nil, base: base,
                design: "Arms decay-lr (learning rate ÷\(f) at epochs \(decays.map(String.init).joined(separator: ", "))), "
                    + "increase-batch (the learning rate held, the batch × \(f) at those epochs instead, as Smith et al.) "
                    + "and increase-copies (the learning rate held, the copies × \(f) at those epochs: the noise of the "
                    + "augmentation falls, the noise of choosing B samples does not)."
                    + Self.sharedDesign(base, scale: scale, regimeOfArms: true))
        }
    }

    /// The settings of the study before its arms change them: the data, model, batch, ghost batch,
    /// optimiser, epochs. Decided before any run (docs/REPRODUCTION.md says why).
    static func baseConfiguration(for name: StudyName, scale: StudyScale) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.batchSize = 64
        c.learningRate = 0.1
        c.momentum = 0.9
        c.checkpointEvery = 1
        c.evalEvery = 1
        c.logEvery = 50
        switch scale {
        case .small:
            c.trainSamples = 10_000
            c.epochs = 20
            c.ghostBatchSize = 32
            c.weightDecay = 5e-4
        case .paper:
            c.epochs = name == .dropoutCopies ? 60 : 200
            c.weightDecay = 1e-4
        }
        if name == .dropoutCopies {
            c.dataset = "fashion-mnist"
            c.model = "mlp"
            c.augment = "none"
            c.dropout = 0.5
        } else {
            c.dataset = "cifar10"
            c.model = scale == .small ? "resnet8" : "resnet44"
            c.augment = "crop=4,flip,cutout=1x16"
        }
        return c
    }

    /// "0:lr=a;e1:lr=a/f;e2:lr=a/f²…".
    static func regime(learningRate: Double, factor: Double, at epochs: [Int]) -> String {
        var entries = ["0:lr=\(learningRate)"]
        var rate = learningRate
        for epoch in epochs {
            rate /= factor
            entries.append("\(epoch):lr=\(rate)")
        }
        return entries.joined(separator: ";")
    }

    /// "0:START;e1:KEY=first·f;e2:KEY=first·f²…".
    static func regime(start: String, key: String, first: Int, factor: Int, at epochs: [Int]) -> String {
        var entries = ["0:\(start)"]
        var value = first
        for epoch in epochs {
            value *= factor
            entries.append("\(epoch):\(key)=\(value)")
        }
        return entries.joined(separator: ";")
    }

    /// `regimeOfArms`: every arm sets its own regime, so the shared one is not named (it would read as
    /// if an arm used it).
    private static func sharedDesign(_ c: TrainingConfiguration, scale: StudyScale, regimeOfArms: Bool = false) -> String {
        " Shared: \(c.model) on \(c.dataset)"
            + (c.trainSamples.map { " (a fixed seed-determined subset of \($0) training samples; the whole test set)" } ?? "")
            + ", B = \(c.batchSize), ghost batch \(c.ghostBatchSize.map(String.init) ?? "per rank"), "
            + "augmentation \(c.augment ?? "the dataset's"), \(c.epochs) epochs, "
            + (regimeOfArms ? "initial learning rate \(c.learningRate)"
                : c.regime.isEmpty ? "learning rate \(c.learningRate)" : "regime \"\(c.regime)\"") + ", momentum "
            + "\(c.momentum), weight decay \(c.weightDecay)" + (c.dropout > 0 ? ", dropout \(c.dropout)" : "") + "."
    }
}

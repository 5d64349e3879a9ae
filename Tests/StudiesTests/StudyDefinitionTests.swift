import Testing
import JSON
import Training
import Studies

/// The presets: which arms each study runs and how they differ, decided before any run.
@Suite("study presets")
struct StudyDefinitionTests {
    /// The arms' configurations as JSON objects, to compare them key by key.
    private func differences(_ a: TrainingConfiguration, _ b: TrainingConfiguration) throws -> Set<String> {
        let x = try JSONValue(encoding: a).objectValue ?? [:], y = try JSONValue(encoding: b).objectValue ?? [:]
        return Set(x.keys.filter { x[$0] != y[$0] })
    }

    @Test("copies: baseline and ba-2/4/8 differ in the copies only")
    func copies() throws {
        let study = StudyDefinition.make(.copies, scale: .small)
        #expect(study.arms.map(\.name) == ["baseline", "ba-2", "ba-4", "ba-8"])
        #expect(study.arms.map(\.configuration.copies) == [1, 2, 4, 8])
        for arm in study.arms.dropFirst() {
            #expect(try differences(arm.configuration, study.arms[0].configuration) == ["copies"])
        }
        let base = study.arms[0].configuration
        #expect(base.model == "resnet8" && base.dataset == "cifar10" && base.trainSamples == 10_000)
        #expect(base.batchSize == 64 && base.ghostBatchSize == 32 && base.epochs == 20)
        #expect(base.regime == "0:lr=0.1;10:lr=0.01;15:lr=0.001")
    }

    @Test("ba-vs-ra: RA takes k·B for k·E epochs, its regime stretched by k, √k learning-rate scaling")
    func baVsRa() throws {
        let study = StudyDefinition.make(.baVsRa, scale: .small)
        #expect(study.arms.map(\.name) == ["baseline", "ba-4", "ra-4"])
        let (baseline, ra) = (study.arms[0].configuration, study.arms[2].configuration)
        #expect(ra.batchSize == 4 * baseline.batchSize && ra.regimeAdaptation == 4)
        #expect(ra.learningRateScaling == "sqrt" && ra.baseBatchSize == baseline.batchSize)
        #expect(try differences(ra, baseline) == ["batch-size", "regime-adaptation", "lr-scaling", "base-batch-size",
                                                  "eval-every"])
        #expect(ra.evalEvery == 4, "evaluated after as many sample instances as the baseline's evaluations")
        // The same number of steps and sample instances as BA: k·E epochs of k·B over the same subset.
        for arm in study.arms { try arm.configuration.validate(ranks: 2) }
    }

    @Test("increase-batch: the factor goes into the learning rate, the batch or the copies at the same epochs")
    func increaseBatch() throws {
        let study = StudyDefinition.make(.increaseBatch, scale: .small)
        #expect(study.arms.map(\.name) == ["decay-lr", "increase-batch", "increase-copies"])
        #expect(study.arms.map(\.configuration.regime) == [
            "0:lr=0.1;10:lr=0.025;15:lr=0.00625",
            "0:lr=0.1;10:batch-size=256;15:batch-size=1024",
            "0:lr=0.1;10:copies=4;15:copies=16",
        ])
        for arm in study.arms { try arm.configuration.validate(ranks: 2) }
        // Every arm sets its own regime: the design names no shared one (the ÷10 regime of the other
        // studies appeared here once, as if an arm used it).
        #expect(!study.design.contains("regime \"") && study.design.contains("initial learning rate 0.1"))
    }

    @Test("gradient-norm: one training arm for the trained point, M up to 16, 50 batches, two points")
    func gradientNorm() throws {
        let study = StudyDefinition.make(.gradientNorm, scale: .small)
        #expect(study.arms.map(\.name) == ["baseline-train"] && study.arms[0].summarized == false)
        let probe = try #require(study.probe)
        #expect(probe.factors == [2, 4, 8, 16] && probe.batches >= 50 && probe.points == [0, 3])
        #expect(GradientNormProbe.arms(probe).map(\.name) == ["baseline", "ba-2", "large-2", "ba-4", "large-4",
                                                               "ba-8", "large-8", "ba-16", "large-16"])
        #expect(GradientNormProbe.arms(probe).last! == ("large-16", 1, 1024))
    }

    @Test("dropout-copies: no input augmentation, dropout on, an MLP on Fashion-MNIST")
    func dropoutCopies() throws {
        let base = StudyDefinition.make(.dropoutCopies, scale: .small).arms[0].configuration
        #expect(base.augment == "none" && base.dropout > 0 && base.model == "mlp" && base.dataset == "fashion-mnist")
    }

    @Test("overrides: data, model, subset and epochs; regime boundaries follow the epochs and never collide")
    func overrides() throws {
        let study = StudyDefinition.make(.copies, scale: .small, overrides: StudyOverrides(
            dataset: "synthetic", model: "mlp", trainSamples: 512, epochs: 2))
        let c = study.arms[0].configuration
        #expect(c.dataset == "synthetic" && c.model == "mlp" && c.trainSamples == 512 && c.epochs == 2)
        #expect(c.regime == "0:lr=0.1;1:lr=0.01", "E/2 and 3E/4 are both epoch 1 of 2: one entry")
        #expect(StudyDefinition.make(.copies, scale: .small, overrides: .init(epochs: 1)).arms[0].configuration.regime
                == "0:lr=0.1")
        #expect(StudyDefinition.make(.copies, scale: .paper).arms[0].configuration.regime
                == "0:lr=0.1;81:lr=0.01;122:lr=0.001;164:lr=0.0001")
    }
}

import Schedules
import Testing

@Suite("learning-rate scaling rules")
struct LearningRateScalingTests {
    @Test("linear multiplies by the batch ratio, sqrt by its root, none by 1")
    func factors() {
        #expect(LearningRateScaling.linear.factor(effectiveBatch: 1024, baseBatch: 128) == 8)
        #expect(LearningRateScaling.sqrt.factor(effectiveBatch: 1024, baseBatch: 128) == 2.8284271247461903)
        #expect(LearningRateScaling.none.factor(effectiveBatch: 1024, baseBatch: 128) == 1)
        #expect(LearningRateScaling.linear.factor(effectiveBatch: 8192, baseBatch: 256) == 32)
        #expect(LearningRateScaling.sqrt.factor(effectiveBatch: 512, baseBatch: 128) == 2)
    }

    @Test("a batch below the base scales the rate down")
    func smallerBatch() {
        #expect(LearningRateScaling.linear.factor(effectiveBatch: 64, baseBatch: 128) == 0.5)
        #expect(LearningRateScaling.sqrt.factor(effectiveBatch: 32, baseBatch: 128) == 0.5)
        #expect(LearningRateScaling.sqrt.factor(effectiveBatch: 128, baseBatch: 128) == 1)
    }

    @Test("the effective batch is M·B: M copies count like M times the distinct samples")
    func effectiveBatch() {
        let augmented = EpochSettings(learningRate: 0.1, momentum: 0.9, weightDecay: 0, copies: 4, batchSize: 256)
        let larger = EpochSettings(learningRate: 0.1, momentum: 0.9, weightDecay: 0, copies: 1, batchSize: 1024)
        #expect(augmented.effectiveBatchSize == 1024)
        for rule in LearningRateScaling.allCases {
            #expect(rule.factor(effectiveBatch: augmented.effectiveBatchSize, baseBatch: 256)
                == rule.factor(effectiveBatch: larger.effectiveBatchSize, baseBatch: 256))
        }
        #expect(LearningRateScaling.linear.factor(effectiveBatch: augmented.effectiveBatchSize, baseBatch: 256) == 4)
    }

    @Test("the names are the option values")
    func names() {
        #expect(LearningRateScaling.allCases.map(\.rawValue) == ["none", "linear", "sqrt"])
        #expect(LearningRateScaling(rawValue: "sqrt") == .sqrt)
        #expect(LearningRateScaling(rawValue: "square-root") == nil)
    }
}

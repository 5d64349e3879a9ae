import Schedules
import Testing

@Suite("gradual warm-up (Goyal et al. 2017)")
struct WarmupTests {
    @Test("from zero over 2 epochs of 100 steps: each step adds 1/200, full from the last warm-up step on")
    func fromZero() throws {
        let warmup = try Warmup(epochs: 2, start: .zero)
        func factor(_ epoch: Int, _ step: Int) -> Double {
            warmup.factor(epoch: epoch, step: step, stepsPerEpoch: 100, scalingFactor: 8)
        }
        #expect(isClose(factor(0, 0), 0.005))        // 1 / 200
        #expect(isClose(factor(0, 49), 0.25))        // 50 / 200
        #expect(isClose(factor(0, 99), 0.5))         // 100 / 200: the end of the first epoch
        #expect(isClose(factor(1, 49), 0.75))        // 150 / 200
        #expect(factor(1, 98) < 1)                   // 199 / 200
        #expect(factor(1, 99) == 1)                  // 200 / 200: the last step of the warm-up
        #expect(factor(2, 0) == 1)
        #expect(factor(40, 17) == 1)
    }

    @Test("a fractional length counts steps: half an epoch of 10 steps is 5 steps")
    func fractional() throws {
        let half = try Warmup(epochs: 0.5, start: .zero)
        let factors = (0 ..< 10).map { half.factor(epoch: 0, step: $0, stepsPerEpoch: 10, scalingFactor: 1) }
        #expect(zip(factors, [0.2, 0.4, 0.6, 0.8, 1, 1, 1, 1, 1, 1]).allSatisfy { isClose($0, $1) }, "\(factors)")
        #expect(half.factor(epoch: 1, step: 0, stepsPerEpoch: 10, scalingFactor: 1) == 1)
        // A quarter epoch of 10 steps is 2.5 steps: 0.4, 0.8, then full.
        let quarter = try Warmup(epochs: 0.25, start: .zero)
        let quarterFactors = (0 ..< 3).map { quarter.progress(epoch: 0, step: $0, stepsPerEpoch: 10) }
        #expect(zip(quarterFactors, [0.4, 0.8, 1]).allSatisfy { isClose($0, $1) }, "\(quarterFactors)")
    }

    @Test("from the unscaled rate (Goyal et al.): η·(1 + (k − 1)·p), reaching k·η")
    func fromUnscaled() throws {
        let warmup = try Warmup(epochs: 1, start: .unscaled)
        // η = 0.1, k = 8, 4 steps: 0.1·(1 + 7/4), 0.1·(1 + 14/4), 0.1·(1 + 21/4), 0.8.
        let rates = (0 ..< 4).map { 0.1 * 8 * warmup.factor(epoch: 0, step: $0, stepsPerEpoch: 4, scalingFactor: 8) }
        #expect(zip(rates, [0.275, 0.45, 0.625, 0.8]).allSatisfy { isClose($0, $1) }, "\(rates)")
        #expect(warmup.factor(epoch: 1, step: 0, stepsPerEpoch: 4, scalingFactor: 8) == 1)
    }

    @Test("from the unscaled rate, k ≤ 1 has nothing to warm up")
    func unscaledWithoutGrowth() throws {
        let warmup = try Warmup(epochs: 5, start: .unscaled)
        for scalingFactor in [1, 0.5] {
            #expect(warmup.factor(epoch: 0, step: 0, stepsPerEpoch: 100, scalingFactor: scalingFactor) == 1)
        }
    }

    @Test("the default start is zero, so a warm-up always warms up")
    func defaultStart() throws {
        let warmup = try Warmup(epochs: 1)
        #expect(warmup.start == .zero)
        #expect(isClose(warmup.factor(epoch: 0, step: 0, stepsPerEpoch: 4, scalingFactor: 1), 0.25))
        #expect(Warmup.Start.allCases.map(\.rawValue) == ["zero", "unscaled"])
    }

    @Test("W = 0 is no warm-up")
    func disabled() throws {
        #expect(Warmup.disabled.factor(epoch: 0, step: 0, stepsPerEpoch: 391, scalingFactor: 8) == 1)
        #expect(try Warmup(epochs: 0, start: .zero).factor(epoch: 0, step: 0, stepsPerEpoch: 1, scalingFactor: 1) == 1)
        #expect(try Warmup(epochs: 0) == Warmup.disabled)
    }

    @Test("a negative or non-finite length is an error naming warmup-epochs", arguments: [-1, -0.5, Double.nan, Double.infinity])
    func invalidLength(epochs: Double) {
        do {
            let warmup = try Warmup(epochs: epochs)
            Issue.record("accepted \(warmup)")
        } catch {
            #expect(error.option == "warmup-epochs")
            #expect(error.description == "warmup-epochs = \(epochs): the warm-up length must be a finite number of epochs ≥ 0")
        }
    }
}

import Engine
import Testing

@Suite("Training step: ghost batches, memory, dropout")
struct TrainingStepTests {
    static let input = TensorShape(channels: 3, height: 10, width: 12)

    /// Batch-norm statistics are per ghost batch, so a batch in ghost batches of G is exactly the
    /// G-sized pieces run one after the other: same loss, same summed gradients, same running
    /// statistics — bit for bit, because the pieces are summed in the same order.
    @Test("a batch in ghost batches of G equals its G-sized pieces run separately")
    func ghostBatchesArePieces() throws {
        let images = randomImages(8, Self.input), labels = randomLabels(8, classes: 4)
        let whole = try ModelZoo.make("resnet8", input: Self.input, classes: 4, seed: 6)
        let pieces = try ModelZoo.make("resnet8", input: Self.input, classes: 4, seed: 6)
        let loss = whole.lossAndGradients(images, labels, ghost: 4)

        var pieceLoss = 0.0
        for first in [0, 4] {
            let x = Array(images[first * Self.input.elements ..< (first + 4) * Self.input.elements])
            let y = Array(labels[first ..< first + 4])
            pieceLoss += x.withUnsafeBufferPointer { xp in y.withUnsafeBufferPointer { yp in
                pieces.trainStep(images: xp.baseAddress!, labels: yp.baseAddress!, count: 4, ghostBatchSize: 4,
                                 dropout: .init(seed: 3, step: 1, firstRow: first), accumulate: first > 0).lossSum } }
        }
        #expect(loss == pieceLoss)
        #expect(whole.gradientsArray() == pieces.gradientsArray())
        #expect(Array(whole.parameters.statistics.buffer) == Array(pieces.parameters.statistics.buffer))

        // And it is not ordinary batch norm over all 8: the statistics differ, so the gradients do.
        let ordinary = try ModelZoo.make("resnet8", input: Self.input, classes: 4, seed: 6)
        let ordinaryLoss = ordinary.lossAndGradients(images, labels, ghost: 8)
        #expect(ordinaryLoss != loss)
        #expect(ordinary.gradientsArray() != whole.gradientsArray())
    }

    @Test("activation memory follows the ghost batch size, not the batch size")
    func memoryFollowsGhostSize() throws {
        let network = try ModelZoo.make("resnet20", input: TensorShape(channels: 3, height: 32, width: 32), classes: 10, seed: 1)
        network.reserve(images: 32)
        let small = network.activationBytes
        network.reserve(images: 256)
        let large = network.activationBytes
        #expect(Double(large) / Double(small) > 7.5 && Double(large) / Double(small) < 8.1, "\(small) vs \(large)")
    }

    @Test("dropout: own mask per row (so copies of a sample differ), kept with 1 − p, scaled, identity in evaluation")
    func dropout() {
        let shape = TensorShape(features: 4000)
        let builder = NetworkBuilder(input: shape)
        let dropped = builder.dropout(builder.input, name: "dropout")
        let network = builder.build(name: "t", output: builder.linear(dropped, outFeatures: 2, name: "fc"), seed: 1)
        network.dropoutRate = 0.25
        let sample = randomImages(1, shape).map { $0 + 2 }   // no zeros in the input
        let batch = sample + sample                          // two copies of one sample
        func run(_ key: DropoutKey) -> [Float] {
            batch.withUnsafeBufferPointer {
                network.forwardOutputs(images: $0.baseAddress!, count: 2, training: true, dropout: key)
            }.first { $0.name == "dropout" }!.values
        }
        let out = run(DropoutKey(seed: 5, step: 9))
        let rows = [Array(out[0 ..< 4000]), Array(out[4000...])]
        #expect(rows[0] != rows[1])
        for row in rows {
            let kept = zip(row, sample).filter { $0.0 != 0 }
            #expect(abs(Double(kept.count) / 4000 - 0.75) < 0.03, "kept \(kept.count) of 4000")
            #expect(kept.allSatisfy { abs($0.0 - $0.1 / 0.75) < 1e-5 })
        }
        #expect(run(DropoutKey(seed: 5, step: 9)) == out)            // reproducible
        #expect(run(DropoutKey(seed: 5, step: 10)) != out)           // a new mask every step
        #expect(run(DropoutKey(seed: 5, step: 9, firstRow: 1)).prefix(4000).elementsEqual(rows[1]))  // keyed by global row
        let evaluation = batch.withUnsafeBufferPointer {
            network.forwardOutputs(images: $0.baseAddress!, count: 2, training: false)
        }.first { $0.name == "dropout" }!.values
        #expect(evaluation == batch)
    }
}

@Suite("SGD against hand-computed steps")
struct SGDTests {
    /// A network whose table has decayed weights and undecayed biases / batch-norm parameters.
    static func network() -> Network {
        let builder = NetworkBuilder(input: TensorShape(features: 3))
        let hidden = builder.batchNorm(builder.linear(builder.input, outFeatures: 2, name: "fc1"), relu: true, name: "bn")
        return builder.build(name: "t", output: builder.linear(hidden, outFeatures: 2, name: "fc2"), seed: 1)
    }

    /// Plain PyTorch SGD, in Double, written from torch.optim.SGD's documentation.
    static func reference(p: inout [Double], v: inout [Double], g: [Double], decays: [Bool], lr: Double, momentum: Double,
                          decay: Double, nesterov: Bool, scale: Double) {
        for i in p.indices {
            let d = scale * g[i] + (decays[i] ? decay * p[i] : 0)
            v[i] = momentum * v[i] + d
            p[i] -= lr * (nesterov ? d + momentum * v[i] : v[i])
        }
    }

    @Test("momentum, Nesterov, weight decay only where the table says", arguments: [false, true])
    func steps(nesterov: Bool) {
        let network = Self.network()
        let store = network.parameters
        let decays = (0 ..< store.count).map { i in store.table.first { $0.range.contains(i) }!.decays }
        #expect(decays.contains(true) && decays.contains(false))
        var p = store.values.buffer.map(Double.init), v = [Double](repeating: 0, count: store.count)
        let sgd = SGD(parameters: store)
        let h = SGD.Hyperparameters(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: nesterov)
        for step in 0 ..< 3 {
            let g = (0 ..< store.count).map { Float(($0 * 7 + step * 3) % 11) - 5 }
            for i in 0 ..< store.count { store.gradients[i] = g[i] }
            sgd.step(store, h, gradientScale: 0.25)
            Self.reference(p: &p, v: &v, g: g.map(Double.init), decays: decays, lr: 0.1, momentum: 0.9, decay: 0.01,
                           nesterov: nesterov, scale: 0.25)
            let parameterError = (0 ..< store.count).map { abs(Double(store.values[$0]) - p[$0]) / max(1, abs(p[$0])) }.max()!
            let velocityError = (0 ..< store.count).map { abs(Double(sgd.velocity[$0]) - v[$0]) / max(1, abs(v[$0])) }.max()!
            #expect(parameterError < 1e-5 && velocityError < 1e-5, "step \(step): parameters off by \(parameterError), velocity by \(velocityError)")
        }
    }

    @Test("clipping scales the gradient to the norm bound; the returned norm is before clipping")
    func clipping() {
        let network = Self.network()
        let store = network.parameters
        let before = Array(store.values.buffer)
        for i in 0 ..< store.count { store.gradients[i] = i % 2 == 0 ? 3 : -4 }
        let norm = (0 ..< store.count).map { i -> Double in i % 2 == 0 ? 9 : 16 }.reduce(0, +).squareRoot() * 0.5
        let sgd = SGD(parameters: store)
        let returned = sgd.step(store, .init(learningRate: 1, momentum: 0, clipNorm: 1), gradientScale: 0.5)
        #expect(abs(Double(returned) - norm) < 1e-4 * norm)
        let update = zip(before, store.values.buffer).map { Double($0 - $1) }
        let updateNorm = update.map { $0 * $0 }.reduce(0, +).squareRoot()
        #expect(abs(updateNorm - 1) < 1e-4, "clipped update norm \(updateNorm)")
        // Without clipping the step is the scaled gradient itself.
        let free = Self.network()
        for i in 0 ..< free.parameters.count { free.parameters.gradients[i] = 2 }
        let start = Array(free.parameters.values.buffer)
        SGD(parameters: free.parameters).step(free.parameters, .init(learningRate: 0.5, momentum: 0.9), gradientScale: 0.1)
        #expect(zip(start, free.parameters.values.buffer).allSatisfy { abs(($0 - $1) - 0.1) < 1e-6 })
    }
}

import Engine
import Testing

/// Forward values against naive Double implementations written from the definitions.
@Suite("Forward values against naive references")
struct ReferenceTests {
    /// out[n][co][y][x] = b[co] + Σ w[co][ci][ky][kx] · in[n][ci][y·s − p + ky][x·s − p + kx]
    static func convolution(_ x: [Float], _ shape: TensorShape, images: Int, weight: [Float], bias: [Float]?,
                            outChannels: Int, kernel k: Int, stride s: Int, padding p: Int) -> [Double] {
        let oh = (shape.height + 2 * p - k) / s + 1, ow = (shape.width + 2 * p - k) / s + 1
        var out = [Double](repeating: 0, count: images * outChannels * oh * ow)
        for n in 0 ..< images {
            for co in 0 ..< outChannels {
                for y in 0 ..< oh {
                    for xo in 0 ..< ow {
                        var sum = Double(bias?[co] ?? 0)
                        for ci in 0 ..< shape.channels {
                            for ky in 0 ..< k {
                                for kx in 0 ..< k {
                                    let iy = y * s - p + ky, ix = xo * s - p + kx
                                    guard iy >= 0, iy < shape.height, ix >= 0, ix < shape.width else { continue }
                                    sum += Double(weight[((co * shape.channels + ci) * k + ky) * k + kx])
                                        * Double(x[((n * shape.channels + ci) * shape.height + iy) * shape.width + ix])
                                }
                            }
                        }
                        out[((n * outChannels + co) * oh + y) * ow + xo] = sum
                    }
                }
            }
        }
        return out
    }

    static func maxDifference(_ a: [Float], _ b: [Double]) -> Double {
        zip(a, b).map { abs(Double($0) - $1) }.max() ?? 0
    }

    @Test("convolutions (direct, phases, blocked products, Winograd and im2col) equal the definition", arguments: [
        (3, 1, 1), (3, 2, 1), (5, 1, 2), (1, 1, 0), (3, 1, 0), (2, 1, 0), (1, 2, 0), (5, 2, 2), (3, 3, 1),
    ], [(false, ConvolutionPolicy.direct), (false, .auto), (true, .direct)])
    func convolution(shape kernelStridePadding: (Int, Int, Int), into: (Bool, ConvolutionPolicy)) {
        let (intoLinear, policy) = into
        let (kernel, stride, padding) = kernelStridePadding
        let shape = TensorShape(channels: 3, height: 7, width: 13)
        let builder = NetworkBuilder(input: shape)
        let conv = builder.conv(builder.input, outChannels: 6, kernel: kernel, stride: stride, padding: padding,
                                bias: true, name: "conv")
        // A linear layer straight after the convolution makes its output a plain array: im2col.
        let network = builder.build(name: "t", output: builder.linear(intoLinear ? conv : builder.relu(conv),
                                                                      outFeatures: 2, name: "fc"), seed: 3)
        network.convolutionPolicy = policy
        #expect(network.summary.first { $0.name == "conv" }!.detail.contains("im2col") == intoLinear)
        let images = randomImages(3, shape)
        let out = network.outputs(images, count: 3, training: false)["conv"]!
        let expected = Self.convolution(images, shape, images: 3, weight: Array(network.values("conv.weight")),
                                        bias: Array(network.values("conv.bias")), outChannels: 6, kernel: kernel,
                                        stride: stride, padding: padding)
        #expect(out.values.count == expected.count)
        #expect(Self.maxDifference(out.values, expected) < 1e-5)
    }

    /// Batch norm in training mode normalises each group of G consecutive images with that
    /// group's own mean and (biased) variance; the running statistics move towards each group's
    /// mean and unbiased variance, one group after the other.
    @Test("ghost batch norm: statistics per group of G, running statistics, evaluation mode")
    func ghostBatchNorm() throws {
        let shape = TensorShape(channels: 2, height: 3, width: 5)
        let builder = NetworkBuilder(input: shape)
        let conv = builder.conv(builder.input, outChannels: 4, kernel: 3, name: "conv")
        let norm = builder.batchNorm(conv, relu: false, name: "bn")
        let network = builder.build(name: "t", output: builder.linear(builder.relu(norm), outFeatures: 2, name: "fc"),
                                    seed: 3)
        // Non-trivial scale and shift.
        for (i, _) in network.values("bn.weight").enumerated() {
            network.values("bn.weight")[i] = 0.5 + Float(i)
            network.values("bn.bias")[i] = Float(i) - 1.5
        }
        let batch = 6, ghost = 3
        let images = randomImages(batch, shape).map { $0 * 3 + 0.7 }   // a mean far from 0
        let plane = shape.height * shape.width
        let gamma = Array(network.values("bn.weight")), beta = Array(network.values("bn.bias"))

        // Pass each group through in training mode and compare with the definition.
        var runningMean = [Double](repeating: 0, count: 4), runningVariance = [Double](repeating: 1, count: 4)
        for group in 0 ..< batch / ghost {
            let slice = Array(images[group * ghost * shape.elements ..< (group + 1) * ghost * shape.elements])
            let outputs = network.outputs(slice, count: ghost, training: true)
            let x = outputs["conv"]!.values, y = outputs["bn"]!.values
            var worst = 0.0
            for c in 0 ..< 4 {
                let values = (0 ..< ghost).flatMap { n in (0 ..< plane).map { Double(x[(n * 4 + c) * plane + $0]) } }
                let mean = values.reduce(0, +) / Double(values.count)
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
                for n in 0 ..< ghost {
                    for i in 0 ..< plane {
                        let index = (n * 4 + c) * plane + i
                        let expected = Double(gamma[c]) * (Double(x[index]) - mean) / (variance + 1e-5).squareRoot() + Double(beta[c])
                        worst = max(worst, abs(Double(y[index]) - expected))
                    }
                }
                runningMean[c] = 0.9 * runningMean[c] + 0.1 * mean
                runningVariance[c] = 0.9 * runningVariance[c] + 0.1 * variance * Double(values.count) / Double(values.count - 1)
            }
            #expect(worst < 1e-4, "group \(group): largest difference from the definition \(worst)")
        }
        let statistics = network.parameters.statisticsTable
        let mean = statistics.first { $0.name == "bn.running_mean" }!, variance = statistics.first { $0.name == "bn.running_var" }!
        for c in 0 ..< 4 {
            #expect(abs(Double(network.parameters.statistics[mean.offset + c]) - runningMean[c]) < 1e-5)
            #expect(abs(Double(network.parameters.statistics[variance.offset + c]) - runningVariance[c]) < 1e-4)
        }

        // Evaluation normalises with the running statistics.
        let outputs = network.outputs(images, count: batch, training: false)
        let x = outputs["conv"]!.values, y = outputs["bn"]!.values
        let worst = (0 ..< y.count).map { index -> Double in
            let c = index / plane % 4
            let expected = Double(gamma[c]) * (Double(x[index]) - runningMean[c]) / (runningVariance[c] + 1e-5).squareRoot()
                + Double(beta[c])
            return abs(Double(y[index]) - expected)
        }.max()!
        #expect(worst < 1e-4, "evaluation mode: largest difference from the definition \(worst)")
    }

    @Test("pooling and the zero-padding shortcut equal their definitions")
    func pooling() {
        let shape = TensorShape(channels: 2, height: 5, width: 7)
        let builder = NetworkBuilder(input: shape)
        let conv = builder.conv(builder.input, outChannels: 2, kernel: 1, name: "conv")
        let maxPool = builder.maxPool(conv, kernel: 3, stride: 2, padding: 1, name: "max")
        let avgPool = builder.avgPool(conv, kernel: 3, stride: 2, padding: 1, name: "avg")
        let global = builder.globalAvgPool(conv, name: "global")
        let shortcut = builder.zeroPadShortcut(conv, outChannels: 4, stride: 2, name: "shortcut")
        let joined = builder.add(builder.linear(maxPool, outFeatures: 3, name: "a"),
                                 builder.linear(avgPool, outFeatures: 3, name: "b"), relu: false)
        let joined2 = builder.add(builder.linear(global, outFeatures: 3, name: "c"),
                                  builder.linear(shortcut, outFeatures: 3, name: "d"), relu: false)
        let network = builder.build(name: "t", output: builder.add(joined, joined2, relu: false), seed: 1)
        let outputs = network.outputs(randomImages(2, shape), count: 2, training: false)
        let x = outputs["conv"]!.values
        func at(_ n: Int, _ c: Int, _ y: Int, _ xx: Int) -> Float? {
            y >= 0 && y < 5 && xx >= 0 && xx < 7 ? x[((n * 2 + c) * 5 + y) * 7 + xx] : nil
        }
        let maxValues = outputs["max"]!.values, avgValues = outputs["avg"]!.values
        let shortcutValues = outputs["shortcut"]!.values, globalValues = outputs["global"]!.values
        for n in 0 ..< 2 {
            for c in 0 ..< 2 {
                for oy in 0 ..< 3 {
                    for ox in 0 ..< 4 {
                        let window = (-1 ... 1).flatMap { dy in (-1 ... 1).compactMap { dx in at(n, c, oy * 2 + dy, ox * 2 + dx) } }
                        let index = ((n * 2 + c) * 3 + oy) * 4 + ox
                        #expect(maxValues[index] == window.max()!)
                        #expect(abs(avgValues[index] - window.reduce(0, +) / 9) < 1e-6)
                        // Shortcut: channels 1 and 2 of 4 carry the input, subsampled; 0 and 3 are zero.
                        #expect(shortcutValues[((n * 4 + c + 1) * 3 + oy) * 4 + ox] == at(n, c, oy * 2, ox * 2)!)
                        #expect(shortcutValues[((n * 4 + (c == 0 ? 0 : 3)) * 3 + oy) * 4 + ox] == 0)
                    }
                }
                let plane = (0 ..< 5).flatMap { y in (0 ..< 7).map { at(n, c, y, $0)! } }
                #expect(abs(globalValues[n * 2 + c] - plane.reduce(0, +) / 35) < 1e-6)
            }
        }
    }

    @Test("the loss is the mean-free softmax cross-entropy of the logits, and counts the correct")
    func loss() {
        let shape = TensorShape(features: 6)
        let builder = NetworkBuilder(input: shape)
        let network = builder.build(name: "t", output: builder.linear(builder.input, outFeatures: 4, name: "fc"), seed: 2)
        let images = randomImages(5, shape).map { $0 * 30 }   // large logits: must not overflow
        let labels = randomLabels(5, classes: 4)
        let loss = network.lossAndGradients(images, labels, ghost: 5)
        let logits = network.outputs(images, count: 5, training: false)["fc"]!.values
        var expected = 0.0
        var correct = 0
        for r in 0 ..< 5 {
            let z = (0 ..< 4).map { Double(logits[r * 4 + $0]) }
            let m = z.max()!
            expected += m + Foundation_log(z.map { Foundation_exp($0 - m) }.reduce(0, +)) - z[Int(labels[r])]
            if z.firstIndex(of: m)! == Int(labels[r]) { correct += 1 }
        }
        #expect(loss.isFinite && abs(loss - expected) < 1e-4 * max(1, abs(expected)))
        let result = images.withUnsafeBufferPointer { x in labels.withUnsafeBufferPointer { y in
            network.evaluate(images: x.baseAddress!, labels: y.baseAddress!, count: 5, chunk: 2) } }
        #expect(result.correct == correct)
        #expect(abs(result.lossSum - expected) < 1e-4 * max(1, abs(expected)))
    }
}

#if canImport(Glibc)
import Glibc
func Foundation_log(_ x: Double) -> Double { Glibc.log(x) }
func Foundation_exp(_ x: Double) -> Double { Glibc.exp(x) }
#endif

import Engine
import Randomness

/// Deterministic test data: values in [-1, 1) and labels in 0..<classes.
func randomImages(_ count: Int, _ shape: TensorShape, seed: UInt64 = 1) -> [Float] {
    var rng = CounterRNG(seed: seed, stream: (9, 9, 9))
    return (0 ..< count * shape.elements).map { _ in rng.uniform() * 2 - 1 }
}

func randomLabels(_ count: Int, classes: Int, seed: UInt64 = 2) -> [Int32] {
    var rng = CounterRNG(seed: seed, stream: (8, 8, 8))
    return (0 ..< count).map { _ in Int32(rng.below(classes)) }
}

extension Network {
    /// Summed loss (and gradients, left in the parameter store) of one training step.
    @discardableResult
    func lossAndGradients(_ images: [Float], _ labels: [Int32], ghost: Int, dropout: DropoutKey = .init(seed: 3, step: 1)) -> Double {
        images.withUnsafeBufferPointer { x in
            labels.withUnsafeBufferPointer { y in
                trainStep(images: x.baseAddress!, labels: y.baseAddress!, count: labels.count, ghostBatchSize: ghost,
                          dropout: dropout).lossSum
            }
        }
    }

    func outputs(_ images: [Float], count: Int, training: Bool) -> [String: (shape: TensorShape, values: [Float])] {
        let list = images.withUnsafeBufferPointer { forwardOutputs(images: $0.baseAddress!, count: count, training: training) }
        return Dictionary(uniqueKeysWithValues: list.map { ($0.name, ($0.shape, $0.values)) })
    }

    func values(_ name: String) -> UnsafeMutableBufferPointer<Float> {
        let spec = parameters[name]!
        return UnsafeMutableBufferPointer(start: parameters.values.pointer + spec.offset, count: spec.count)
    }

    func gradientsArray() -> [Float] { Array(parameters.gradients.buffer) }
}

/// One disagreement between an analytic and a numerical derivative.
struct GradientMismatch: CustomStringConvertible {
    let parameter: String
    let index: Int
    let analytic: Double
    let numeric: Double
    var description: String { "\(parameter)[\(index)]: analytic \(analytic), central difference \(numeric)" }
}

/// Compares the gradient of the summed loss with central differences (L(θ+ε) − L(θ−ε)) / 2ε for up
/// to `perTensor` entries of every parameter tensor. Float32 arithmetic: the tolerance is
/// relative to the derivative and to the tensor's gradient scale.
///
/// A central difference is meaningless where θ ± ε falls on different sides of a ReLU kink, so
/// every probe compares the on/off pattern of all non-negative (ReLU) outputs at θ+ε and θ−ε and
/// skips the probe if any unit switched; `skipped` counts those.
///
/// `differencesPolicy`: the convolution kernels the central differences run on (the analytic
/// gradient runs on the network's own). Winograd F(4×4)'s rounding (~1e-6 of a layer's output) is
/// not smooth in θ: over a deep model it moves the loss by more than a small ε's share of it, so
/// the differences of a model whose own kernels are Winograd are taken on the direct kernels.
func gradientCheck(_ network: Network, images: [Float], labels: [Int32], ghost: Int, epsilon: Float = 2e-3,
                   perTensor: Int = 12, relativeTolerance: Double = 0.02,
                   differencesPolicy: ConvolutionPolicy? = nil)
    -> (checked: Int, skipped: Int, mismatches: [GradientMismatch]) {
    let key = DropoutKey(seed: 3, step: 1)
    network.lossAndGradients(images, labels, ghost: ghost, dropout: key)
    let analytic = network.gradientsArray()
    let ownPolicy = network.convolutionPolicy
    if let differencesPolicy { network.convolutionPolicy = differencesPolicy }
    defer { network.convolutionPolicy = ownPolicy }
    var rng = CounterRNG(seed: 11, stream: (1, 2, 3))
    var mismatches: [GradientMismatch] = []
    var checked = 0, skipped = 0
    func activationPattern() -> [Bool] {
        var pattern: [Bool] = []
        for first in stride(from: 0, to: labels.count, by: ghost) {
            let chunk = Array(images[first * network.inputShape.elements ..< (first + ghost) * network.inputShape.elements])
            let outputs = chunk.withUnsafeBufferPointer {
                network.forwardOutputs(images: $0.baseAddress!, count: ghost, training: true,
                                       dropout: DropoutKey(seed: key.seed, step: key.step, firstRow: first))
            }
            for output in outputs where output.values.allSatisfy({ $0 >= 0 }) {
                pattern += output.values.map { $0 > 0 }
            }
        }
        return pattern
    }
    for spec in network.parameters.table {
        let scale = (spec.range.map { Double(analytic[$0] * analytic[$0]) }.reduce(0, +) / Double(spec.count)).squareRoot()
        let indices = spec.count <= perTensor ? Array(0 ..< spec.count) : (0 ..< perTensor).map { _ in rng.below(spec.count) }
        for index in indices {
            let position = spec.offset + index
            let original = network.parameters.values[position]
            network.parameters.values[position] = original + epsilon
            let plus = network.lossAndGradients(images, labels, ghost: ghost, dropout: key)
            let plusPattern = activationPattern()
            network.parameters.values[position] = original - epsilon
            let minus = network.lossAndGradients(images, labels, ghost: ghost, dropout: key)
            let minusPattern = activationPattern()
            network.parameters.values[position] = original
            guard plusPattern == minusPattern else {
                skipped += 1
                continue
            }
            let numeric = (plus - minus) / Double(2 * epsilon)
            let exact = Double(analytic[position])
            checked += 1
            if abs(exact - numeric) > relativeTolerance * max(abs(exact), abs(numeric)) + 0.01 * scale + 2e-4 {
                mismatches.append(GradientMismatch(parameter: spec.name, index: index, analytic: exact, numeric: numeric))
            }
        }
    }
    return (checked, skipped, mismatches)
}

/// A layer named "conv" on other kernels against the direct ones: its forward output, its weight
/// gradient and the gradient of "pre.weight" (which the layer's input gradient reaches), each as
/// the largest difference relative to the direct result's largest magnitude. `make` builds the
/// network under a policy; one pass of `count` images in one ghost batch.
func productsAgainstDirect(_ policy: ConvolutionPolicy, images: [Float], labels: [Int32], count: Int,
                           make: (ConvolutionPolicy) -> Network)
    -> (forward: Double, weightGradient: Double, inputGradient: Double) {
    var forwards: [[Float]] = [], gradients: [[String: [Float]]] = []
    for p in [ConvolutionPolicy.direct, policy] {
        let network = make(p)
        forwards.append(network.outputs(images, count: count, training: false)["conv"]!.values)
        network.lossAndGradients(images, labels, ghost: count)
        var byName: [String: [Float]] = [:]
        for spec in network.parameters.table {
            byName[spec.name] = Array(network.parameters.gradients.buffer[spec.range])
        }
        gradients.append(byName)
    }
    func relative(_ a: [Float], _ b: [Float]) -> Double {
        let scale = b.map { Double(abs($0)) }.max()!
        return zip(a, b).map { Double(abs($0 - $1)) }.max()! / scale
    }
    return (relative(forwards[1], forwards[0]), relative(gradients[1]["conv.weight"]!, gradients[0]["conv.weight"]!),
            relative(gradients[1]["pre.weight"]!, gradients[0]["pre.weight"]!))
}

/// The shape of a convolution under test: channels, plane, kernel, stride, padding.
struct ConvolutionCase {
    var inChannels: Int, outChannels: Int, height: Int, width: Int, kernel: Int, stride: Int, padding: Int
    var input: TensorShape { TensorShape(channels: 2, height: height, width: width) }

    init(_ inChannels: Int, _ outChannels: Int, _ height: Int, _ width: Int, _ kernel: Int, _ stride: Int, _ padding: Int) {
        (self.inChannels, self.outChannels, self.height, self.width) = (inChannels, outChannels, height, width)
        (self.kernel, self.stride, self.padding) = (kernel, stride, padding)
    }
}

/// A 1×1 convolution "pre" from 2 channels (so that the layer under test has an input gradient),
/// the convolution "conv" under test, ReLU and a linear classifier of 3 classes.
func convolutionUnderTest(_ c: ConvolutionCase, policy: ConvolutionPolicy, bias: Bool = true) -> Network {
    let builder = NetworkBuilder(input: c.input)
    let pre = builder.conv(builder.input, outChannels: c.inChannels, kernel: 1, name: "pre")
    let conv = builder.conv(pre, outChannels: c.outChannels, kernel: c.kernel, stride: c.stride, padding: c.padding,
                            bias: bias, name: "conv")
    let network = builder.build(name: "t", output: builder.linear(builder.relu(conv), outFeatures: 3, name: "fc"),
                                seed: 7)
    network.convolutionPolicy = policy
    return network
}

/// Layer "conv" of `network` (from `convolutionUnderTest`) on `count` random images against the
/// definition: the largest difference, and the largest magnitude of the expected output.
func convolutionAgainstDefinition(_ network: Network, _ c: ConvolutionCase, count: Int)
    -> (difference: Double, scale: Double, sizesAgree: Bool) {
    let outputs = network.outputs(randomImages(count, c.input), count: count, training: false)
    let pre = outputs["pre"]!
    let expected = ReferenceTests.convolution(pre.values, pre.shape, images: count,
                                              weight: Array(network.values("conv.weight")),
                                              bias: Array(network.values("conv.bias")), outChannels: c.outChannels,
                                              kernel: c.kernel, stride: c.stride, padding: c.padding)
    return (ReferenceTests.maxDifference(outputs["conv"]!.values, expected), expected.map(abs).max()!,
            outputs["conv"]!.values.count == expected.count)
}

/// One step of `network` and of `direct` (the same model on the direct kernels) on the same
/// batch: the loss's relative difference, the largest gradient difference relative to the largest
/// direct gradient, and the largest running-statistic difference relative to max(1, |value|).
func stepAgainstDirect(_ network: Network, _ direct: Network, images: [Float], labels: [Int32], ghost: Int)
    -> (loss: Double, gradients: Double, statistics: Double) {
    let loss = network.lossAndGradients(images, labels, ghost: ghost)
    let lossDirect = direct.lossAndGradients(images, labels, ghost: ghost)
    let g = network.gradientsArray(), gd = direct.gradientsArray()
    let scale = Double(gd.map { abs($0) }.max()!)
    let statistics = zip(network.parameters.statistics.buffer, direct.parameters.statistics.buffer)
        .map { Double(abs($0 - $1)) / Double(max(1, abs($1))) }.max() ?? 0
    return (abs(loss - lossDirect) / abs(lossDirect), Double(zip(g, gd).map { abs($0 - $1) }.max()!) / scale, statistics)
}

import Engine
import Testing

/// The Winograd kernels of 3×3 stride-1 convolutions (forward, input gradient, weight gradient):
/// against the definition, against central differences, against the direct kernels, and the
/// planner's choice as a pure function of the model.
@Suite("Winograd convolutions")
struct WinogradTests {
    /// 3×3, stride 1, with odd sizes (partial tiles of both tile sizes) and channels not a multiple
    /// of the vector width or of the 4-channel blocks. The last two hold groups of eight tiles
    /// along one row, or of two rows of four (read by permutes with AVX-512), next to groups that
    /// do not.
    static let shapes = [
        ConvolutionCase(3, 6, 7, 13, 3, 1, 1), ConvolutionCase(9, 17, 9, 11, 3, 1, 1), ConvolutionCase(16, 16, 8, 8, 3, 1, 1),
        ConvolutionCase(5, 3, 5, 6, 3, 1, 0), ConvolutionCase(4, 5, 6, 5, 3, 1, 2), ConvolutionCase(2, 3, 1, 3, 3, 1, 1),
        ConvolutionCase(5, 6, 6, 35, 3, 1, 1), ConvolutionCase(6, 5, 10, 16, 3, 1, 1),
    ]

    @Test("forward equals the definition", arguments: [ConvolutionPolicy.winograd, .winograd2], [0, 1, 2, 3, 4, 5, 6, 7])
    func forward(policy: ConvolutionPolicy, shapeIndex: Int) {
        let shape = Self.shapes[shapeIndex]
        let network = convolutionUnderTest(shape, policy: policy)
        #expect(network.summary.first { $0.name == "conv" }!.detail.contains("winograd"))
        let result = convolutionAgainstDefinition(network, shape, count: 3)
        #expect(result.sizesAgree)
        #expect(result.difference < 1e-5 * max(result.scale, 1))
    }

    @Test("gradients match central differences", arguments: [ConvolutionPolicy.winograd, .winograd2], [0, 1, 3, 4])
    func gradients(policy: ConvolutionPolicy, shapeIndex: Int) {
        let shape = Self.shapes[shapeIndex]
        let network = convolutionUnderTest(shape, policy: policy)
        // Up to 1,683 ReLU units: a smaller step than the default keeps most probes off the kinks.
        let result = gradientCheck(network, images: randomImages(3, shape.input), labels: randomLabels(3, classes: 3),
                                   ghost: 3, epsilon: 1e-3)
        #expect(result.checked > 20 && result.checked >= 2 * result.skipped,
                "checked \(result.checked), skipped at kinks \(result.skipped)")
        #expect(result.mismatches.isEmpty, "\(result.mismatches.prefix(8).map(\.description).joined(separator: "\n"))")
    }

    /// The three products of one layer against the direct kernels' (the input gradient reaches
    /// the 1×1 layer's weight gradient), relative to each tensor's largest value: F(2×2) stays
    /// near Float rounding, F(4×4) within a few 1e-6 (the transforms' coefficients up to 8 amplify
    /// rounding); bounds with a margin of about 10× over what was measured.
    @Test("forward, input gradient and weight gradient agree with the direct kernels",
          arguments: [(ConvolutionPolicy.winograd, 1e-4), (.winograd2, 2e-5)])
    func againstDirect(policy: ConvolutionPolicy, bound: Double) {
        for shape in [ConvolutionCase(16, 32, 16, 16, 3, 1, 1), ConvolutionCase(9, 17, 9, 11, 3, 1, 1),
                      ConvolutionCase(5, 6, 6, 35, 3, 1, 1), ConvolutionCase(6, 5, 10, 16, 3, 1, 1)] {
            let error = productsAgainstDirect(policy, images: randomImages(4, shape.input),
                                              labels: randomLabels(4, classes: 3), count: 4) {
                convolutionUnderTest(shape, policy: $0, bias: false)
            }
            #expect(error.forward < bound, "forward \(shape)")
            #expect(error.weightGradient < bound, "dw \(shape)")
            #expect(error.inputGradient < bound, "dx \(shape)")
        }
    }

    /// Whole networks: every parameter's gradient with Winograd layers against the direct
    /// kernels', relative to each tensor's largest gradient.
    @Test("resnet8 and wrn10-2 gradients agree with the direct kernels", arguments: ["resnet8", "wrn10-2"])
    func networks(model: String) throws {
        let input = TensorShape(channels: 3, height: 12, width: 12)
        let images = randomImages(4, input), labels = randomLabels(4, classes: 3)
        var gradients: [[Float]] = []
        var networks: [Network] = []
        for policy in [ConvolutionPolicy.direct, .winograd] {
            let network = try ModelZoo.make(model, input: input, classes: 3, seed: 4)
            network.dropoutRate = 0.2
            network.convolutionPolicy = policy
            network.lossAndGradients(images, labels, ghost: 2)
            gradients.append(network.gradientsArray())
            networks.append(network)
        }
        #expect(networks[1].convolutionKernels.filter { $0.kernels.hasPrefix("winograd") }.count >= 4)
        for spec in networks[0].parameters.table {
            let direct = gradients[0][spec.range], winograd = gradients[1][spec.range]
            let scale = direct.map { abs($0) }.max()!
            let worst = zip(direct, winograd).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-4 * scale, "\(spec.name): largest difference \(worst), scale \(scale)")
        }
    }

    /// What a resume restores — parameters, momentum, running statistics — is all the state a
    /// step reads: the Winograd layers keep nothing between steps (they transform the weights
    /// afresh each step), so a network rebuilt from that state continues bit for bit.
    @Test("a step after restoring the state equals the uninterrupted run's, bit for bit", arguments: ["cnn", "resnet8"])
    func restoredStateContinues(model: String) throws {
        let input = TensorShape(channels: 3, height: 16, width: 16)
        let images = randomImages(8, input), labels = randomLabels(8, classes: 4)
        let hyper = SGD.Hyperparameters(learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4)
        func step(_ network: Network, _ optimizer: SGD, _ index: UInt64) {
            network.lossAndGradients(images, labels, ghost: 4, dropout: DropoutKey(seed: 2, step: index))
            optimizer.step(network.parameters, hyper, gradientScale: 1.0 / 8)
        }
        let whole = try ModelZoo.make(model, input: input, classes: 4, seed: 5)
        #expect(InstructionSet.best != .avx2 || whole.convolutionKernels.contains { $0.kernels.hasPrefix("winograd") })
        // resnet8's strided convolutions run as blocked products, which keep no state either.
        #expect(InstructionSet.best != .avx2 || model != "resnet8"
                || whole.convolutionKernels.contains { $0.kernels.hasPrefix("gemm") })
        let wholeOptimizer = SGD(parameters: whole.parameters)
        for index in 0 ..< 3 { step(whole, wholeOptimizer, UInt64(index)) }

        let first = try ModelZoo.make(model, input: input, classes: 4, seed: 5)
        let firstOptimizer = SGD(parameters: first.parameters)
        for index in 0 ..< 2 { step(first, firstOptimizer, UInt64(index)) }
        let resumed = try ModelZoo.make(model, input: input, classes: 4, seed: 9)   // other initial weights
        let resumedOptimizer = SGD(parameters: resumed.parameters)
        resumed.parameters.values.buffer.update(fromContentsOf: first.parameters.values.buffer)
        resumed.parameters.statistics.buffer.update(fromContentsOf: first.parameters.statistics.buffer)
        resumedOptimizer.velocity.buffer.update(fromContentsOf: firstOptimizer.velocity.buffer)
        step(resumed, resumedOptimizer, 2)
        #expect(Array(resumed.parameters.values.buffer) == Array(whole.parameters.values.buffer))
        #expect(Array(resumed.parameters.statistics.buffer) == Array(whole.parameters.statistics.buffer))
    }

    @Test("accumulating input gradients (a tensor read by two convolutions) and fused batch-norm statistics")
    func accumulateAndStatistics() {
        let input = TensorShape(channels: 3, height: 10, width: 9)
        func make(_ policy: ConvolutionPolicy) -> Network {
            let b = NetworkBuilder(input: input)
            let x = b.conv(b.input, outChannels: 16, kernel: 1, name: "pre")
            let left = b.batchNorm(b.conv(x, outChannels: 16, kernel: 3, name: "left"), relu: true, name: "bn1")
            let right = b.batchNorm(b.conv(x, outChannels: 16, kernel: 3, name: "right"), relu: true, name: "bn2")
            let network = b.build(name: "t", output: b.linear(b.add(left, right, relu: false), outFeatures: 3, name: "fc"),
                                  seed: 2)
            network.convolutionPolicy = policy
            return network
        }
        let winograd = make(.winograd), direct = make(.direct)
        #expect(winograd.summary.first { $0.name == "left" }!.detail.contains("fused BN statistics"))
        let difference = stepAgainstDirect(winograd, direct, images: randomImages(4, input),
                                           labels: randomLabels(4, classes: 3), ghost: 2)
        #expect(difference.loss < 1e-4)
        #expect(difference.gradients < 1e-4)
        #expect(difference.statistics <= 1e-4)
    }

    /// Reproducibility: the planner's choice is a function of the model alone, and two networks
    /// built alike compute the same bits.
    @Test("auto: the choice follows the shapes, the same in every network built alike, bit-identical steps")
    func deterministicChoice() throws {
        let cifar = TensorShape(channels: 3, height: 32, width: 32)
        let a = try ModelZoo.make("resnet20", input: cifar, classes: 10, seed: 3)
        let b = try ModelZoo.make("resnet20", input: cifar, classes: 10, seed: 3)
        let kernels = a.convolutionKernels
        #expect(kernels.map(\.kernels) == b.convolutionKernels.map(\.kernels))
        if InstructionSet.best == .avx2 {
            // conv1 (3 input channels) stays direct, the strided ones run as blocked products, the rest Winograd.
            #expect(kernels.first { $0.name == "conv1" }!.kernels == "direct")
            #expect(kernels.first { $0.name == "layer2.0.conv1" }!.kernels.hasPrefix("gemm"))
            #expect(kernels.filter { $0.kernels.hasPrefix("winograd") }.count == 16)
        }
        let small = TensorShape(channels: 3, height: 12, width: 12)
        let images = randomImages(4, small), labels = randomLabels(4, classes: 4)
        var results: [[Float]] = []
        for _ in 0 ..< 2 {
            let network = try ModelZoo.make("resnet8", input: small, classes: 4, seed: 6)
            network.convolutionPolicy = .winograd
            network.lossAndGradients(images, labels, ghost: 2)
            results.append(network.gradientsArray() + Array(network.parameters.statistics.buffer))
        }
        #expect(results[0] == results[1])
        // Switching the policy of a built network re-plans it: back to direct gives direct's bits.
        let switched = try ModelZoo.make("resnet8", input: small, classes: 4, seed: 6)
        let direct = try ModelZoo.make("resnet8", input: small, classes: 4, seed: 6)
        switched.convolutionPolicy = .winograd
        switched.lossAndGradients(images, labels, ghost: 2)
        switched.convolutionPolicy = .direct
        direct.convolutionPolicy = .direct
        switched.lossAndGradients(images, labels, ghost: 2)
        direct.lossAndGradients(images, labels, ghost: 2)
        #expect(switched.gradientsArray() == direct.gradientsArray())
    }
}

import Engine
import Testing

/// The blocked matrix products of strided convolutions (`ck_gemm_conv_*`): against the
/// definition, central differences and the direct kernels (phases), including blocks that cross
/// rows and images, partial last blocks, channels not a multiple of 4 or 16, and accumulated
/// input gradients.
@Suite("Convolutions as blocked matrix products")
struct GemmConvolutionTests {
    /// (input channels, output channels, height, width, kernel, stride, padding).
    static let shapes: [(Int, Int, Int, Int, Int, Int, Int)] = [
        (3, 6, 7, 13, 3, 2, 1), (9, 17, 9, 11, 3, 2, 1), (16, 32, 8, 8, 3, 2, 1), (5, 7, 10, 9, 1, 2, 0),
        (6, 20, 5, 7, 1, 3, 0), (4, 5, 11, 8, 3, 3, 1), (2, 3, 1, 3, 3, 2, 1),
    ]

    /// A 1×1 convolution (so that the layer under test has an input gradient), the layer under
    /// test, ReLU and a linear classifier.
    static func network(_ shape: (Int, Int, Int, Int, Int, Int, Int), policy: ConvolutionPolicy,
                        bias: Bool = true) -> Network {
        let (cin, cout, height, width, kernel, stride, padding) = shape
        let builder = NetworkBuilder(input: TensorShape(channels: 2, height: height, width: width))
        let pre = builder.conv(builder.input, outChannels: cin, kernel: 1, name: "pre")
        let conv = builder.conv(pre, outChannels: cout, kernel: kernel, stride: stride, padding: padding, bias: bias,
                                name: "conv")
        let network = builder.build(name: "t", output: builder.linear(builder.relu(conv), outFeatures: 3, name: "fc"),
                                    seed: 7)
        network.convolutionPolicy = policy
        return network
    }

    @Test("forward equals the definition", arguments: 0 ..< 7)
    func forward(shapeIndex: Int) {
        let shape = Self.shapes[shapeIndex]
        let network = Self.network(shape, policy: .auto)
        if InstructionSet.best == .avx2 {
            #expect(network.convolutionKernels.first { $0.name == "conv" }!.kernels.hasPrefix("gemm"))
        }
        let input = TensorShape(channels: 2, height: shape.2, width: shape.3)
        // 11 images: the positions of a pass end in a partial block of 64 for every shape.
        let images = randomImages(11, input)
        let outputs = network.outputs(images, count: 11, training: false)
        let pre = outputs["pre"]!
        let expected = ReferenceTests.convolution(pre.values, pre.shape, images: 11,
                                                  weight: Array(network.values("conv.weight")),
                                                  bias: Array(network.values("conv.bias")), outChannels: shape.1,
                                                  kernel: shape.4, stride: shape.5, padding: shape.6)
        let scale = expected.map(abs).max()!
        #expect(outputs["conv"]!.values.count == expected.count)
        #expect(ReferenceTests.maxDifference(outputs["conv"]!.values, expected) < 1e-5 * max(scale, 1))
    }

    @Test("gradients match central differences", arguments: 0 ..< 7)
    func gradients(shapeIndex: Int) {
        let shape = Self.shapes[shapeIndex]
        let network = Self.network(shape, policy: .auto)
        let input = TensorShape(channels: 2, height: shape.2, width: shape.3)
        let result = gradientCheck(network, images: randomImages(3, input), labels: randomLabels(3, classes: 3),
                                   ghost: 3, epsilon: 1e-3)
        #expect(result.checked > 20 && result.checked >= 2 * result.skipped,
                "checked \(result.checked), skipped at kinks \(result.skipped)")
        #expect(result.mismatches.isEmpty, "\(result.mismatches.prefix(8).map(\.description).joined(separator: "\n"))")
    }

    /// The three products against the direct kernels', relative to each tensor's largest value:
    /// both sum the same products in other orders, so they agree to Float rounding (measured
    /// ≤ 1e-6; the bound has a margin of 10×).
    @Test("forward, input gradient and weight gradient agree with the direct kernels")
    func againstDirect() {
        for shape in [(16, 32, 16, 16, 3, 2, 1), (9, 17, 9, 11, 3, 2, 1), (24, 40, 12, 12, 1, 2, 0)] {
            let input = TensorShape(channels: 2, height: shape.2, width: shape.3)
            let error = productsAgainstDirect(.auto, images: randomImages(6, input), labels: randomLabels(6, classes: 3),
                                              count: 6) { Self.network(shape, policy: $0, bias: false) }
            print("blocked products against direct, \(shape): forward \(error.forward), dw \(error.weightGradient), "
                  + "dx \(error.inputGradient)")
            #expect(error.forward < 1e-5, "forward \(shape)")
            #expect(error.weightGradient < 1e-5, "dw \(shape)")
            #expect(error.inputGradient < 1e-5, "dx \(shape)")
        }
    }

    @Test("accumulated input gradients (a tensor read by two strided convolutions) and fused batch-norm statistics")
    func accumulateAndStatistics() {
        let input = TensorShape(channels: 3, height: 10, width: 9)
        func make(_ policy: ConvolutionPolicy) -> Network {
            let b = NetworkBuilder(input: input)
            let x = b.conv(b.input, outChannels: 12, kernel: 3, name: "pre")
            let left = b.batchNorm(b.conv(x, outChannels: 20, kernel: 3, stride: 2, name: "left"), relu: true,
                                   name: "bn1")
            let right = b.batchNorm(b.conv(x, outChannels: 20, kernel: 1, stride: 2, padding: 0, name: "right"),
                                    relu: true, name: "bn2")
            let network = b.build(name: "t", output: b.linear(b.add(left, right, relu: false), outFeatures: 3, name: "fc"),
                                  seed: 2)
            network.convolutionPolicy = policy
            return network
        }
        let gemm = make(.auto), direct = make(.direct)
        if InstructionSet.best == .avx2 {
            #expect(gemm.convolutionKernels.filter { $0.kernels.hasPrefix("gemm") }.map(\.name) == ["left", "right"])
        }
        #expect(gemm.summary.first { $0.name == "left" }!.detail.contains("fused BN statistics"))
        let images = randomImages(9, input), labels = randomLabels(9, classes: 3)
        let lossG = gemm.lossAndGradients(images, labels, ghost: 9)
        let lossD = direct.lossAndGradients(images, labels, ghost: 9)
        #expect(abs(lossG - lossD) < 1e-4 * abs(lossD))
        let gg = gemm.gradientsArray(), gd = direct.gradientsArray()
        let scale = gd.map { abs($0) }.max()!
        #expect(zip(gg, gd).map { abs($0 - $1) }.max()! < 1e-4 * scale)
        let statistics = zip(gemm.parameters.statistics.buffer, direct.parameters.statistics.buffer)
        #expect(statistics.allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) })
    }
}

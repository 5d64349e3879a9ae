import Engine
import Testing

/// The blocked matrix products of strided convolutions (`ck_gemm_conv_*`): against the
/// definition, central differences and the direct kernels (phases), including blocks that cross
/// rows and images, partial last blocks, channels not a multiple of 4 or 16, and accumulated
/// input gradients.
@Suite("Convolutions as blocked matrix products")
struct GemmConvolutionTests {
    /// Odd sizes, blocks that cross rows and images, channels not a multiple of 4 or 16, strides 2 and 3.
    static let shapes = [
        ConvolutionCase(3, 6, 7, 13, 3, 2, 1), ConvolutionCase(9, 17, 9, 11, 3, 2, 1), ConvolutionCase(16, 32, 8, 8, 3, 2, 1),
        ConvolutionCase(5, 7, 10, 9, 1, 2, 0), ConvolutionCase(6, 20, 5, 7, 1, 3, 0), ConvolutionCase(4, 5, 11, 8, 3, 3, 1),
        ConvolutionCase(2, 3, 1, 3, 3, 2, 1),
    ]

    @Test("forward equals the definition", arguments: 0 ..< 7)
    func forward(shapeIndex: Int) {
        let shape = Self.shapes[shapeIndex]
        let network = convolutionUnderTest(shape, policy: .auto)
        if InstructionSet.best == .avx2 {
            #expect(network.convolutionKernels.first { $0.name == "conv" }!.kernels.hasPrefix("gemm"))
        }
        // 11 images: the positions of a pass end in a partial block of 64 for every shape.
        let result = convolutionAgainstDefinition(network, shape, count: 11)
        #expect(result.sizesAgree)
        #expect(result.difference < 1e-5 * max(result.scale, 1))
    }

    @Test("gradients match central differences", arguments: 0 ..< 7)
    func gradients(shapeIndex: Int) {
        let shape = Self.shapes[shapeIndex]
        let network = convolutionUnderTest(shape, policy: .auto)
        let result = gradientCheck(network, images: randomImages(3, shape.input), labels: randomLabels(3, classes: 3),
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
        // 72 output channels: the weight gradient's 64-lane micro-tile and a 16-lane one after it.
        for shape in [ConvolutionCase(16, 32, 16, 16, 3, 2, 1), ConvolutionCase(9, 17, 9, 11, 3, 2, 1),
                      ConvolutionCase(24, 40, 12, 12, 1, 2, 0), ConvolutionCase(8, 72, 8, 8, 3, 2, 1)] {
            let error = productsAgainstDirect(.auto, images: randomImages(6, shape.input),
                                              labels: randomLabels(6, classes: 3), count: 6) {
                convolutionUnderTest(shape, policy: $0, bias: false)
            }
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
        let difference = stepAgainstDirect(gemm, direct, images: randomImages(9, input),
                                           labels: randomLabels(9, classes: 3), ghost: 9)
        #expect(difference.loss < 1e-4)
        #expect(difference.gradients < 1e-4)
        #expect(difference.statistics <= 1e-4)
    }
}

import Engine
import Testing

/// Gradients of every layer against central finite differences. Each network puts a layer with
/// parameters *before* the layer under test, so that the input gradient of the layer under test is
/// checked too (through the parameters in front of it), and ends in a linear classifier and the
/// softmax cross-entropy (whose own gradient every check exercises).
@Suite("Gradient checks against central differences")
struct GradientCheckTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let label: String
        let input: TensorShape
        let batch: Int
        let ghost: Int
        let build: @Sendable (NetworkBuilder) -> Int
        var testDescription: String { label }
    }

    static let classes = 3

    static let cases: [Case] = [
        Case(label: "conv 3×3/1 pad 1, direct, 5×11 (partial vectors), 6 outputs with bias", input: .init(channels: 2, height: 5, width: 11),
             batch: 3, ghost: 3) { b in
            var x = b.conv(b.input, outChannels: 3, kernel: 1, bias: true, name: "pre")
            x = b.conv(x, outChannels: 6, kernel: 3, bias: true, name: "conv")
            return b.linear(b.relu(x), outFeatures: classes, name: "fc")
        },
        Case(label: "conv 3×3/1 pad 1, direct, 16 wide (full vectors), 9 outputs", input: .init(channels: 3, height: 3, width: 16),
             batch: 2, ghost: 2) { b in
            var x = b.conv(b.input, outChannels: 4, kernel: 1, name: "pre")
            x = b.conv(x, outChannels: 9, kernel: 3, name: "conv")
            return b.linear(b.relu(x), outFeatures: classes, name: "fc")
        },
        Case(label: "conv 3×3/1 pad 1, direct, 8 wide (one vector per row)", input: .init(channels: 3, height: 4, width: 8),
             batch: 2, ghost: 2) { b in
            var x = b.conv(b.input, outChannels: 4, kernel: 1, name: "pre")
            x = b.conv(x, outChannels: 8, kernel: 3, name: "conv")
            return b.linear(b.relu(x), outFeatures: classes, name: "fc")
        },
        Case(label: "conv 3×3/2 pad 1 (phases), 7×9", input: .init(channels: 2, height: 7, width: 9), batch: 3, ghost: 3) { b in
            var x = b.conv(b.input, outChannels: 3, kernel: 1, name: "pre")
            x = b.conv(x, outChannels: 5, kernel: 3, stride: 2, bias: true, name: "conv")
            return b.linear(b.relu(x), outFeatures: classes, name: "fc")
        },
        Case(label: "conv 5×5/1 pad 2 (taps 3+2) and 2×2/1 pad 0", input: .init(channels: 2, height: 6, width: 7), batch: 2, ghost: 2) { b in
            var x = b.conv(b.input, outChannels: 3, kernel: 5, padding: 2, name: "conv5")
            x = b.conv(b.relu(x), outChannels: 4, kernel: 2, padding: 0, bias: true, name: "conv2")
            return b.linear(b.relu(x), outFeatures: classes, name: "fc")
        },
        Case(label: "conv 3×3/1 pad 0 (valid) and 1×1/2 (phases)", input: .init(channels: 3, height: 7, width: 10), batch: 2, ghost: 2) { b in
            var x = b.conv(b.input, outChannels: 4, kernel: 3, padding: 0, name: "valid")
            x = b.conv(b.relu(x), outChannels: 5, kernel: 1, stride: 2, padding: 0, name: "pointwise")
            return b.linear(b.relu(x), outFeatures: classes, name: "fc")
        },
        Case(label: "conv 5×5/2 pad 2 and 3×3/3 pad 1 (phases of 3+2 and 1 taps)", input: .init(channels: 2, height: 11, width: 13),
             batch: 2, ghost: 2) { b in
            var x = b.conv(b.input, outChannels: 4, kernel: 5, stride: 2, padding: 2, name: "conv5")
            x = b.conv(b.relu(x), outChannels: 5, kernel: 3, stride: 3, padding: 1, bias: true, name: "conv3")
            return b.linear(b.relu(x), outFeatures: classes, name: "fc")
        },
        Case(label: "conv 3×3/2 and 3×3/1 straight into linear layers (im2col)", input: .init(channels: 2, height: 6, width: 9),
             batch: 2, ghost: 2) { b in
            let pre = b.conv(b.input, outChannels: 3, kernel: 3, name: "pre")
            let strided = b.linear(b.conv(pre, outChannels: 4, kernel: 3, stride: 2, bias: true, name: "strided"),
                                   outFeatures: classes, name: "fc1")
            let plain = b.linear(b.conv(pre, outChannels: 3, kernel: 3, name: "plain"), outFeatures: classes, name: "fc2")
            return b.add(strided, plain, relu: false)
        },
        Case(label: "batch norm (conv features, ReLU), ghost 2 of batch 6", input: .init(channels: 2, height: 5, width: 6),
             batch: 6, ghost: 2) { b in
            var x = b.conv(b.input, outChannels: 4, kernel: 3, name: "conv")
            x = b.batchNorm(x, relu: true, name: "bn")
            return b.linear(x, outFeatures: classes, name: "fc")
        },
        // No ReLU: 6,240 units around one would put too many probes at a kink.
        Case(label: "batch norm backward in groups of channels (10 of 13×16: groups of 4, 4 and 2)",
             input: .init(channels: 2, height: 13, width: 16), batch: 3, ghost: 3) { b in
            var x = b.conv(b.input, outChannels: 10, kernel: 3, name: "conv")
            x = b.batchNorm(x, relu: false, name: "bn")
            return b.linear(x, outFeatures: classes, name: "fc")
        },
        Case(label: "batch norm + residual + ReLU (a residual join)", input: .init(channels: 2, height: 4, width: 9),
             batch: 4, ghost: 2) { b in
            let a = b.conv(b.input, outChannels: 4, kernel: 3, name: "a")
            let c = b.conv(b.relu(a), outChannels: 4, kernel: 3, name: "b")
            let x = b.batchNorm(c, residual: a, relu: true, name: "bn")
            return b.linear(x, outFeatures: classes, name: "fc")
        },
        Case(label: "batch norm over dense features", input: .init(channels: 2, height: 3, width: 3), batch: 5, ghost: 5) { b in
            var x = b.linear(b.input, outFeatures: 7, name: "fc1")
            x = b.batchNorm(x, relu: true, name: "bn")
            return b.linear(x, outFeatures: classes, name: "fc2")
        },
        Case(label: "max pool 2/2 and 3/2 pad 1", input: .init(channels: 2, height: 7, width: 9), batch: 2, ghost: 2) { b in
            var x = b.conv(b.input, outChannels: 3, kernel: 3, name: "conv")
            x = b.maxPool(x, kernel: 2)
            x = b.maxPool(x, kernel: 3, stride: 2, padding: 1)
            return b.linear(x, outFeatures: classes, name: "fc")
        },
        Case(label: "average pool 3/2 pad 1 and global average pool", input: .init(channels: 2, height: 6, width: 7), batch: 2, ghost: 2) { b in
            var x = b.conv(b.input, outChannels: 3, kernel: 3, name: "conv")
            x = b.avgPool(x, kernel: 3, stride: 2, padding: 1)
            let y = b.globalAvgPool(b.conv(x, outChannels: 4, kernel: 3, name: "conv2"))
            return b.linear(y, outFeatures: classes, name: "fc")
        },
        Case(label: "add + ReLU and the zero-padding shortcut (stride 2, 3 → 6 channels)",
             input: .init(channels: 3, height: 6, width: 5), batch: 2, ghost: 2) { b in
            let x = b.conv(b.input, outChannels: 3, kernel: 3, name: "pre")
            let shortcut = b.zeroPadShortcut(x, outChannels: 6, stride: 2)
            let h = b.conv(x, outChannels: 6, kernel: 3, stride: 2, name: "conv")
            return b.linear(b.add(h, shortcut, relu: true), outFeatures: classes, name: "fc")
        },
        Case(label: "dropout 0.3 (fixed masks) and a linear layer over C×H×W", input: .init(channels: 2, height: 3, width: 4),
             batch: 4, ghost: 4) { b in
            let x = b.conv(b.input, outChannels: 3, kernel: 3, name: "conv")
            return b.linear(b.dropout(b.relu(x)), outFeatures: classes, name: "fc")
        },
    ]

    /// Under `direct` the strided and 1×1 convolutions run over phases or on the direct kernels,
    /// under `auto` as blocked matrix products (with AVX2) and the 3×3 ones on Winograd.
    @Test("layer gradients match central differences", arguments: cases, [ConvolutionPolicy.direct, .auto])
    func layer(_ c: Case, policy: ConvolutionPolicy) throws {
        let builder = NetworkBuilder(input: c.input)
        let network = builder.build(name: c.label, output: c.build(builder), seed: 5)
        network.convolutionPolicy = policy
        network.dropoutRate = 0.3
        let images = randomImages(c.batch, c.input)
        let labels = randomLabels(c.batch, classes: Self.classes)
        let result = gradientCheck(network, images: images, labels: labels, ghost: c.ghost)
        #expect(result.checked > 20 && result.checked >= 3 * result.skipped, "checked \(result.checked), skipped at kinks \(result.skipped)")
        #expect(result.mismatches.isEmpty, "\(result.mismatches.prefix(8).map(\.description).joined(separator: "\n"))")
    }

    @Test("the convolutions under test take the intended path")
    func paths() {
        func detail(_ c: Case, _ name: String, _ policy: ConvolutionPolicy = .direct) -> String {
            let builder = NetworkBuilder(input: c.input)
            let network = builder.build(name: c.label, output: c.build(builder), seed: 5)
            network.convolutionPolicy = policy
            return network.summary.first { $0.name == name }?.detail ?? "missing"
        }
        func find(_ prefix: String) -> Case { Self.cases.first { $0.label.hasPrefix(prefix) }! }
        #expect(detail(Self.cases[0], "conv").contains("direct"))
        #expect(detail(find("conv 3×3/2 pad 1 (phases)"), "conv").contains("4 phases"))
        #expect(detail(find("conv 5×5/1"), "conv5").hasSuffix("direct"))
        #expect(detail(find("conv 3×3/1 pad 0"), "pointwise").contains("4 phases"))
        #expect(detail(find("conv 5×5/2"), "conv3").contains("9 phases"))
        if InstructionSet.best == .avx2 {
            #expect(detail(find("conv 3×3/2 pad 1 (phases)"), "conv", .auto).contains("gemm"))
            #expect(detail(find("conv 3×3/1 pad 0"), "pointwise", .auto).contains("gemm"))
            #expect(detail(find("conv 5×5/2"), "conv3", .auto).contains("gemm"))
            #expect(detail(find("conv 5×5/1"), "conv5", .auto).hasSuffix("direct"))
        }
        #expect(detail(find("conv 3×3/2 and 3×3/1 straight"), "strided").contains("im2col"))
        #expect(detail(find("conv 3×3/2 and 3×3/1 straight"), "plain").contains("im2col"))
        #expect(detail(find("batch norm (conv"), "conv").contains("fused BN statistics"))
    }

    @Test("resnet8 end to end, ghost batches of 2 in a batch of 4")
    func resnet8() throws {
        let input = TensorShape(channels: 3, height: 12, width: 12)
        let network = try ModelZoo.make("resnet8", input: input, classes: 4, seed: 3)
        // The analytic gradient on the default kernels (Winograd, blocked products), the central
        // differences on the direct ones: with ε = 5e-4, F(4×4)'s rounding in the loss differences
        // was enough to move one probe of 130 by 6 % (layer1.0.conv2.weight[1096], 0.0257 vs 0.0273).
        let result = gradientCheck(network, images: randomImages(4, input), labels: randomLabels(4, classes: 4),
                                   ghost: 2, epsilon: 5e-4, perTensor: 10, differencesPolicy: .direct)
        // Thousands of ReLU units: many probes straddle a kink and are skipped; the rest must agree.
        #expect(result.checked > 100 && result.checked >= result.skipped, "checked \(result.checked), skipped \(result.skipped)")
        #expect(result.mismatches.isEmpty, "\(result.mismatches.prefix(8).map(\.description).joined(separator: "\n"))")
    }

    @Test("wide resnet (1×1 shortcut convolutions, dropout, pre-activation) end to end")
    func wideResNet() throws {
        let input = TensorShape(channels: 3, height: 8, width: 8)
        let network = try ModelZoo.make("wrn10-2", input: input, classes: 3, seed: 4)
        network.dropoutRate = 0.2
        // Direct kernels: F(4×4, 3×3)'s rounding moves this loss by ~1e-6, which central differences
        // with ε = 5e-4 turn into errors of ~1e-3 in a derivative. WinogradTests checks the Winograd
        // layers against central differences in smaller networks and this network's analytic
        // gradients against the direct kernels'.
        network.convolutionPolicy = .direct
        let result = gradientCheck(network, images: randomImages(4, input), labels: randomLabels(4, classes: 3),
                                   ghost: 4, epsilon: 5e-4, perTensor: 10)
        #expect(result.checked > 100 && result.checked >= result.skipped, "checked \(result.checked), skipped \(result.skipped)")
        #expect(result.mismatches.isEmpty, "\(result.mismatches.prefix(8).map(\.description).joined(separator: "\n"))")
    }

    /// With `.winograd` both run the Winograd kernels (the planner keeps the portable build on
    /// direct kernels under `.auto`).
    @Test("AVX2 and portable kernels give the same gradients", .enabled(if: InstructionSet.best == .avx2),
          arguments: [ConvolutionPolicy.auto, .winograd])
    func instructionSetsAgree(policy: ConvolutionPolicy) throws {
        let input = TensorShape(channels: 3, height: 9, width: 13)
        let images = randomImages(4, input), labels = randomLabels(4, classes: 5)
        var gradients: [[Float]] = []
        for set in [InstructionSet.avx2, .portable] {
            let network = try ModelZoo.make("resnet8", input: input, classes: 5, seed: 9)
            network.instructionSet = set
            network.convolutionPolicy = policy
            network.lossAndGradients(images, labels, ghost: 2)
            gradients.append(network.gradientsArray())
        }
        let scale = gradients[1].map { abs($0) }.max()!
        let worst = zip(gradients[0], gradients[1]).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-4 * scale, "largest difference \(worst), gradient scale \(scale)")
    }
}

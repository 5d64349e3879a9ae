import Engine
import Testing

/// Which kernel each product of a convolution runs on: `ConvolutionPlanner.plan` as a pure
/// function of (layer, policy, instruction set), the layers a network gives it, and that every
/// layer of a network runs the kernels its plan names.
@Suite("Convolution planner")
struct ConvolutionPlannerTests {
    typealias Layer = ConvolutionPlanner.Layer

    static func layer(_ inChannels: Int, _ outChannels: Int, kernel: Int = 3, stride: Int = 1, padding: Int = 1,
                      bordered: Bool = true) -> Layer {
        Layer(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride, padding: padding,
              bordered: bordered)
    }

    static let mixed = ConvolutionPlan(forward: .winograd4, inputGradient: .winograd4, weightGradient: .direct)

    /// (layer, policy, instruction set, plan): the rule written out case by case.
    static let table: [(Layer, ConvolutionPolicy, InstructionSet, ConvolutionPlan)] = [
        // 3×3 stride 1: Winograd by the harmonic mean h of the channels (F4 forward and input
        // gradient from h = 12, weight gradient from h = 16), only with AVX2 under auto.
        (layer(16, 16), .auto, .avx2, .all(.winograd4)),
        (layer(64, 64), .auto, .avx2, .all(.winograd4)),
        (layer(16, 64), .auto, .avx2, .all(.winograd4)),
        (layer(14, 14), .auto, .avx2, mixed),
        (layer(12, 12), .auto, .avx2, mixed),
        (layer(8, 24), .auto, .avx2, mixed),              // h = 12
        (layer(11, 12), .auto, .avx2, .all(.direct)),      // h = 11
        (layer(3, 16), .auto, .avx2, .all(.direct)),
        (layer(16, 16), .auto, .portable, .all(.direct)),
        (layer(16, 16), .direct, .avx2, .all(.direct)),
        (layer(3, 16), .winograd, .avx2, .all(.winograd4)),
        (layer(16, 16), .winograd, .portable, .all(.winograd4)),
        (layer(16, 16), .winograd2, .avx2, .all(.winograd2)),
        (layer(5, 3, padding: 0), .winograd, .avx2, .all(.winograd4)),
        (layer(4, 5, padding: 2), .winograd2, .portable, .all(.winograd2)),
        // Other stride-1 kernels stay direct under every policy.
        (layer(16, 64, kernel: 1, padding: 0), .auto, .avx2, .all(.direct)),
        (layer(16, 64, kernel: 1, padding: 0), .winograd, .avx2, .all(.direct)),
        (layer(16, 16, kernel: 5, padding: 2), .winograd2, .avx2, .all(.direct)),
        // Strided: blocked products under every policy but direct, with AVX2; phases otherwise.
        (layer(16, 32, stride: 2), .auto, .avx2, .all(.blockedProducts)),
        (layer(16, 32, stride: 2), .winograd2, .avx2, .all(.blockedProducts)),
        (layer(64, 128, kernel: 1, stride: 2, padding: 0), .winograd, .avx2, .all(.blockedProducts)),
        (layer(16, 32, stride: 2), .direct, .avx2, .all(.phases)),
        (layer(16, 32, stride: 2), .auto, .portable, .all(.phases)),
        (layer(4, 5, stride: 3), .winograd, .portable, .all(.phases)),
        // Without zero borders: im2col, whatever else.
        (layer(16, 16, bordered: false), .auto, .avx2, .all(.im2col)),
        (layer(16, 32, stride: 2, bordered: false), .winograd, .avx2, .all(.im2col)),
        (layer(3, 3, kernel: 1, padding: 0, bordered: false), .direct, .portable, .all(.im2col)),
    ]

    @Test("the plan of each layer, policy and instruction set", arguments: table.indices)
    func plan(index: Int) {
        let (layer, policy, set, expected) = Self.table[index]
        #expect(ConvolutionPlanner.plan(layer, policy: policy, instructionSet: set) == expected,
                "\(layer) --path \(policy.rawValue) on \(set)")
    }

    /// Over a grid of shapes, every plan is one the layer can run: Winograd only on 3×3 stride-1
    /// bordered layers, phases and blocked products only strided, phases for all three products or
    /// none, im2col exactly for layers without borders, nothing but the direct kernels' family
    /// under `direct`, no blocked products and (under auto) no Winograd without AVX2.
    @Test("every plan over a grid of shapes is one the layer can run")
    func grid() {
        var count = 0
        for (cin, cout) in [(1, 16), (3, 16), (12, 12), (16, 16), (16, 64), (256, 256)] {
            for (kernel, stride, padding) in [(3, 1, 1), (3, 1, 0), (3, 1, 2), (3, 2, 1), (1, 1, 0), (1, 2, 0), (5, 1, 2)] {
                for bordered in [true, false] {
                    let layer = Layer(inChannels: cin, outChannels: cout, kernel: kernel, stride: stride,
                                      padding: padding, bordered: bordered)
                    for policy in ConvolutionPolicy.allCases {
                        for set in InstructionSet.allCases {
                            let plan = ConvolutionPlanner.plan(layer, policy: policy, instructionSet: set)
                            let context = "\(layer) --path \(policy.rawValue) on \(set): \(plan)"
                            count += 1
                            for kernel in plan.kernels {
                                #expect(kernel.winogradTile == nil || layer.admitsWinograd, "\(context)")
                                #expect(![.phases, .blockedProducts].contains(kernel) || stride > 1, "\(context)")
                                #expect(kernel != .blockedProducts || (set == .avx2 && policy != .direct), "\(context)")
                                #expect((kernel == .im2col) == !bordered, "\(context)")
                            }
                            #expect(plan.kernels.contains(.phases) == (plan == .all(.phases)), "\(context)")
                            if policy == .direct {
                                #expect(plan.kernels.allSatisfy { [.direct, .phases, .im2col].contains($0) }, "\(context)")
                            }
                            if policy == .auto && set == .portable {
                                #expect(plan.kernels.allSatisfy { $0.winogradTile == nil }, "\(context)")
                            }
                        }
                    }
                }
            }
        }
        #expect(count == 6 * 7 * 2 * 4 * 2)
    }

    /// A graph with every kind of layer: fused statistics, a strided layer, a 1×1, one that feeds a
    /// linear layer (no borders: im2col) and one whose padding exceeds kernel − 1.
    static func graph() -> Network {
        let b = NetworkBuilder(input: TensorShape(channels: 3, height: 9, width: 9))
        let first = b.batchNorm(b.conv(b.input, outChannels: 16, kernel: 3, name: "first"), relu: true, name: "bn")
        let wide = b.relu(b.conv(first, outChannels: 14, kernel: 3, name: "wide"))
        let strided = b.relu(b.conv(wide, outChannels: 20, kernel: 3, stride: 2, name: "strided"))
        let pointwise = b.conv(strided, outChannels: 12, kernel: 1, name: "pointwise")
        let padded = b.conv(pointwise, outChannels: 12, kernel: 3, padding: 3, name: "padded")
        let last = b.conv(b.relu(padded), outChannels: 6, kernel: 3, name: "last")
        return b.build(name: "t", output: b.linear(last, outFeatures: 3, name: "fc"), seed: 5)
    }

    @Test("the network gives the planner each layer's shape and the graph's borders")
    func layersOfAGraph() {
        let network = Self.graph()
        let layers = Dictionary(uniqueKeysWithValues: network.convolutionPlans.map { ($0.name, $0.layer) })
        #expect(layers["first"] == Self.layer(3, 16))
        #expect(layers["wide"] == Self.layer(16, 14))
        #expect(layers["strided"] == Self.layer(14, 20, stride: 2))
        #expect(layers["pointwise"] == Self.layer(20, 12, kernel: 1, padding: 0))
        #expect(layers["padded"] == Self.layer(12, 12, padding: 3, bordered: false))
        #expect(layers["last"] == Self.layer(12, 6, bordered: false))   // read by the linear layer
        #expect(network.summary.first { $0.name == "first" }!.detail.contains("fused BN statistics"))
    }

    /// The plan each layer holds is the planner's for the network's policy and instruction set, and
    /// after a training step (and after changing the policy, and a step again) each product ran
    /// on the kernel its plan names — the input gradient of a layer that reads the network's
    /// input is not computed at all.
    @Test("every layer runs the kernels its plan names", arguments: ["graph", "resnet20", "wrn16-4"])
    func nodesRunTheirPlans(model: String) throws {
        let input = TensorShape(channels: 3, height: 9, width: 9)
        let network = model == "graph" ? Self.graph() : try ModelZoo.make(model, input: input, classes: 3, seed: 2)
        let images = randomImages(4, input), labels = randomLabels(4, classes: 3)
        var seen = Set<ConvolutionKernel>()
        for set in InstructionSet.allCases where set == .portable || InstructionSet.best == .avx2 {
            for policy in ConvolutionPolicy.allCases {
                network.instructionSet = set
                network.convolutionPolicy = policy
                #expect(network.convolutionPlans.allSatisfy { $0.ran == ConvolutionKernelsRun() },
                        "a new plan has not run yet")
                network.lossAndGradients(images, labels, ghost: 2)
                for layer in network.convolutionPlans {
                    let context = "\(model) \(layer.name) --path \(policy.rawValue) on \(set)"
                    #expect(layer.plan == ConvolutionPlanner.plan(layer.layer, policy: policy, instructionSet: set),
                            "\(context)")
                    #expect(layer.ran.forward == layer.plan.forward, "\(context)")
                    #expect(layer.ran.weightGradient == layer.plan.weightGradient, "\(context)")
                    let readsInput = ["first", "conv1"].contains(layer.name)
                    #expect(layer.ran.inputGradient == (readsInput ? nil : layer.plan.inputGradient), "\(context)")
                    seen.formUnion(layer.plan.kernels)
                }
            }
        }
        if model == "graph" && InstructionSet.best == .avx2 {
            #expect(seen == Set(ConvolutionKernel.allCases), "every kernel ran: \(seen.sorted { $0.rawValue < $1.rawValue })")
        }
    }

    /// What a layer's forward pass computes is what its planned kernel computes: a layer that auto
    /// plans on F(4×4) or on blocked products gives the bits of the same layer under the policy
    /// that runs that kernel everywhere, and not those of the direct kernels.
    @Test("a planned layer computes its kernel's bits", .enabled(if: InstructionSet.best == .avx2),
          arguments: [ConvolutionCase(14, 14, 8, 8, 3, 1, 1), ConvolutionCase(16, 32, 9, 9, 3, 2, 1)])
    func plannedKernelsBits(shape: ConvolutionCase) {
        let images = randomImages(3, shape.input)
        func output(_ policy: ConvolutionPolicy) -> [Float] {
            convolutionUnderTest(shape, policy: policy).outputs(images, count: 3, training: false)["conv"]!.values
        }
        let auto = convolutionUnderTest(shape, policy: .auto)
        let plan = auto.convolutionPlans.first { $0.name == "conv" }!.plan
        #expect(plan.forward == (shape.stride == 1 ? .winograd4 : .blockedProducts))
        #expect(output(.auto) == output(.winograd))
        #expect(output(.auto) != output(.direct))
    }

    @Test("how a plan reads in summaries")
    func summaries() throws {
        let network = try ModelZoo.make("resnet20", input: TensorShape(channels: 3, height: 32, width: 32), classes: 10,
                                        seed: 1)
        network.instructionSet = .avx2
        let kernels = Dictionary(uniqueKeysWithValues: network.convolutionKernels.map { ($0.name, $0.kernels) })
        #expect(kernels["conv1"] == "direct")
        #expect(kernels["layer1.0.conv1"] == "winograd (F4 fwd, F4 dx, F4 dw)")
        #expect(kernels["layer2.0.conv1"] == "gemm (blocks of 64 positions)")
        network.convolutionPolicy = .direct
        let direct = Dictionary(uniqueKeysWithValues: network.convolutionKernels.map { ($0.name, $0.kernels) })
        #expect(direct["layer2.0.conv1"] == "direct over 4 phases")
        #expect(Self.graph().convolutionKernels.first { $0.name == "last" }!.kernels == "im2col+sgemm")
        #expect(ConvolutionCalibration.planned(inChannels: 14, outChannels: 14, instructionSet: .avx2) == Self.mixed)
        #expect(Self.mixed.kernels.map(\.description) == ["F4", "F4", "direct"])
    }
}

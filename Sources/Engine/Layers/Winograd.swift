import CKernels

/// Which convolution kernels a network may use for its 3×3, stride-1 convolutions.
///
/// - `direct`: the direct AVX2 kernels for every product (the engine before Winograd).
/// - `winograd`: Winograd F(4×4, 3×3) for the forward pass, the input gradient and the weight
///   gradient of every convolution that can take it (for side-by-side measurements);
///   `winograd2` the same with F(2×2, 3×3).
/// - `auto` (the default): per layer and per product, the kernel that `WinogradPlanner` picks
///   from the layer's shape — a fixed rule calibrated offline by `bench step --calibrate`, never a
///   measurement at start-up, so that every run and every rank of a job (and a resumed run) uses
///   the same kernels and computes the same bits.
public enum ConvolutionPolicy: String, Sendable, CaseIterable {
    case direct, winograd, winograd2, auto
}

/// The kernel of each product of one convolution: 0 = direct, m = Winograd F(m×m, 3×3).
struct ConvolutionAlgorithms: Equatable, Sendable, CustomStringConvertible {
    var forward = 0
    var inputGradient = 0
    var weightGradient = 0

    static let direct = ConvolutionAlgorithms()

    var usesWinograd: Bool { forward + inputGradient + weightGradient > 0 }

    /// The largest Winograd tile used (sizes the scratch).
    var largestTile: Int { max(forward, inputGradient, weightGradient) }

    /// "direct", or the kernel of each product: "F4 fwd, F4 dx, F2 dw".
    var description: String {
        guard usesWinograd else { return "direct" }
        func name(_ m: Int) -> String { m == 0 ? "direct" : "F\(m)" }
        return "\(name(forward)) fwd, \(name(inputGradient)) dx, \(name(weightGradient)) dw"
    }
}

/// The planner's rule for 3×3 stride-1 convolutions: a deterministic function of the layer's
/// shape, so that the choice is the same in every process that builds the same model.
///
/// Calibrated on the development machine (Zen 3, AVX2) with `bench step --calibrate` over the
/// shapes of resnet20/56 and wrn16-4 on CIFAR and Fashion-MNIST (docs/PERFORMANCE.md has the
/// table): Winograd pays where the channel products are large enough for the transforms (which
/// cost per tile and channel, not per channel pair) to be a small share.
enum WinogradPlanner {
    static func algorithms(inChannels: Int, outChannels: Int, height: Int, width: Int,
                           policy: ConvolutionPolicy, instructionSet: InstructionSet) -> ConvolutionAlgorithms {
        switch policy {
        case .direct: return .direct
        case .winograd: return ConvolutionAlgorithms(forward: 4, inputGradient: 4, weightGradient: 4)
        case .winograd2: return ConvolutionAlgorithms(forward: 2, inputGradient: 2, weightGradient: 2)
        case .auto:
            // Portable C is for correctness on CPUs without AVX2, not speed: keep the simple kernels.
            guard instructionSet == .avx2 else { return .direct }
            // The matrix products grow with cin · cout per tile, the transforms with cin + cout:
            // their ratio, the harmonic mean of the two, decides. Direct kernels are also weak on
            // small planes, so the plane size does not hold Winograd back (4×4 planes: 2.3-4.4×).
            let balance = 2 * inChannels * outChannels / (inChannels + outChannels)
            var choice = ConvolutionAlgorithms()
            if balance >= 12 { choice.forward = 4; choice.inputGradient = 4 }
            if balance >= 16 { choice.weightGradient = 4 }
            return choice
        }
    }
}

/// Scratch memory shared by the layers of one network (they run one at a time): grows to the
/// largest request, allocated once.
final class ScratchArena {
    private(set) var buffer: FloatBuffer?

    func reserve(_ count: Int) {
        if (buffer?.count ?? 0) < count { buffer = FloatBuffer(count: count) }
    }

    var pointer: UnsafeMutablePointer<Float> { buffer!.pointer }
}

/// Tiles per block of the Winograd kernels. The forward product keeps one transformed element's
/// slice of a block's inputs and outputs ((cin + cout) · 4 floats per tile) in cache while it runs
/// over the output channels, with four vectors of 16 tiles per micro-tile (AVX-512) or two of 8;
/// the weight gradient reduces over a block's tiles and updates the (α² · cout · cin) transformed
/// gradient once per block, so it takes larger blocks. Fixed numbers: the order of the sums
/// depends on them, so they must not vary between runs or machines.
enum WinogradBlocking {
    static func forwardBlock(inChannels: Int, outChannels: Int) -> Int { 64 }
    static func weightBlock(inChannels: Int, outChannels: Int) -> Int { 128 }
}

/// Output positions per block of the blocked matrix products (`Conv2D.gemm`): fixed, since the
/// order of the sums depends on it.
enum GemmBlocking {
    static let block = 64
}

extension Conv2D {
    /// How this layer runs: "direct", "winograd (F4 fwd, F4 dx, F4 dw)", "direct over 4 phases",
    /// "im2col+sgemm".
    var kernelDescription: String {
        if gemm { return "gemm (blocks of \(GemmBlocking.block) positions)" }
        switch path {
        case .direct: return algorithms.usesWinograd ? "winograd (\(algorithms))" : "direct"
        case .phases: return "direct over \(stride * stride) phases"
        case .im2col: return "im2col+sgemm"
        }
    }

    /// Whether the planner may run this layer's products on the Winograd kernels.
    var winogradEligible: Bool { path == .direct && kernel == 3 && stride == 1 }

    /// Whether the planner may run this layer as blocked matrix products: the strided
    /// convolutions, which Winograd does not cover. (1×1 stride-1 ones stay on the direct
    /// kernels: with their few input channels the gather costs more than it saves; wrn16-4's
    /// 16→64 shortcut took 2× as long as blocked products.)
    var gemmEligible: Bool { path == .phases }

    /// Floats of the network's shared scratch this layer needs (Winograd or blocked products).
    func sharedScratchCount() -> Int {
        if gemm {
            return ck_gemm_conv_scratch_count(Int32(inChannels), Int32(outChannels), Int32(kernel), Int32(kernel),
                                              Int32(GemmBlocking.block))
        }
        return path == .direct && algorithms.usesWinograd ? winogradScratchCount() : 0
    }

    /// Floats of scratch this layer's Winograd products need.
    func winogradScratchCount() -> Int {
        var most = 0
        let block = max(WinogradBlocking.forwardBlock(inChannels: inChannels, outChannels: outChannels),
                        WinogradBlocking.weightBlock(inChannels: inChannels, outChannels: outChannels))
        for m in Set([algorithms.forward, algorithms.inputGradient, algorithms.weightGradient]) where m > 0 {
            most = max(most, ck_winograd_scratch_count(Int32(m), Int32(inChannels), Int32(outChannels), Int32(block)))
        }
        return most
    }

    func winogradForward(_ pass: Pass, input: ck_view, output: ck_view, bias: UnsafePointer<Float>?,
                         sums: UnsafeMutablePointer<Double>?) {
        ck_winograd_forward(pass.isa, Int32(algorithms.forward), input, Int32(inChannels), output, Int32(outChannels),
                            Int32(pass.images), Int32(outShape.height), Int32(outShape.width),
                            winogradWeights!.pointer, bias, 0, sums, scratch!.pointer,
                            Int32(WinogradBlocking.forwardBlock(inChannels: inChannels, outChannels: outChannels)))
    }

    func winogradInputGradient(_ pass: Pass, outputGradient: ck_view, inputGradient: ck_view, accumulate: Bool) {
        ck_winograd_forward(pass.isa, Int32(algorithms.inputGradient), outputGradient, Int32(outChannels),
                            inputGradient, Int32(inChannels), Int32(pass.images), Int32(inShape.height),
                            Int32(inShape.width), winogradFlippedWeights!.pointer, nil, accumulate ? 1 : 0, nil,
                            scratch!.pointer,
                            Int32(WinogradBlocking.forwardBlock(inChannels: outChannels, outChannels: inChannels)))
    }

    func winogradWeightGradient(_ pass: Pass, outputGradient: ck_view, input: ck_view,
                                weightGradient: UnsafeMutablePointer<Float>) {
        ck_winograd_backward_weights(pass.isa, Int32(algorithms.weightGradient), outputGradient, Int32(outChannels),
                                     input, Int32(inChannels), Int32(pass.images), Int32(outShape.height),
                                     Int32(outShape.width), weightGradient, scratch!.pointer,
                                     Int32(WinogradBlocking.weightBlock(inChannels: inChannels,
                                                                        outChannels: outChannels)))
    }
}

extension Network {
    /// Decides the kernels of every eligible convolution from `convolutionPolicy` (and the
    /// instruction set), and gives them one shared scratch arena.
    func planConvolutions() {
        let convolutions = nodes.compactMap { $0 as? Conv2D }
        let arena = convolutions.lazy.compactMap(\.scratch).first ?? ScratchArena()
        for conv in convolutions {
            conv.scratch = arena
            conv.algorithms = !conv.winogradEligible ? .direct : WinogradPlanner.algorithms(
                inChannels: conv.inChannels, outChannels: conv.outChannels, height: conv.outShape.height,
                width: conv.outShape.width, policy: convolutionPolicy, instructionSet: instructionSet)
            conv.gemm = conv.gemmEligible && convolutionPolicy != .direct && instructionSet == .avx2
            if passCapacity > 0 { conv.allocate(images: passCapacity) }
        }
    }

    /// Each convolution layer's name, shape and kernels (`Conv2D.kernelDescription`), in network order.
    public var convolutionKernels: [(name: String, shape: String, kernels: String)] {
        nodes.compactMap { $0 as? Conv2D }.map { conv in
            (conv.name, "\(conv.kernel)×\(conv.kernel)/\(conv.stride) \(conv.inChannels)→\(conv.outChannels) "
                + "\(conv.outShape.height)×\(conv.outShape.width)", conv.kernelDescription)
        }
    }
}

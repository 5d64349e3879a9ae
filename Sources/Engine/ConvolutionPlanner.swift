/// Which convolution kernels a network may use.
///
/// - `direct`: the direct kernels for every product (the engine before Winograd): stride-1
///   convolutions on `ConvolutionKernel.direct`, strided ones on `.phases`.
/// - `winograd`: Winograd F(4×4, 3×3) for the forward pass, the input gradient and the weight
///   gradient of every convolution that can take it (for side-by-side measurements);
///   `winograd2` the same with F(2×2, 3×3).
/// - `auto` (the default): per layer and per product, the kernel that `ConvolutionPlanner` picks
///   from the layer's shape — a fixed rule calibrated offline by `bench step --calibrate`, never a
///   measurement at start-up, so that every run and every rank of a job (and a resumed run) uses
///   the same kernels and computes the same bits.
///
/// Under every policy but `direct`, strided convolutions run as blocked matrix products (AVX2 only).
public enum ConvolutionPolicy: String, Sendable, CaseIterable {
    case direct, winograd, winograd2, auto
}

/// Every kernel a product of a convolution (forward, input gradient, weight gradient) can run on.
public enum ConvolutionKernel: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The direct stride-1 kernels (`ck_conv_forward`, `ck_conv_backward_weights`): the input is
    /// read through its zero border; the input gradient is the same kernel over the output
    /// gradient's border with the weights transposed and flipped.
    case direct
    /// A strided convolution as the sum over the s² phases of its padded input of stride-1
    /// convolutions with sub-kernels, on the direct kernels (`ck_phase_split`, `ck_phase_merge`).
    /// The weight gradient and the input gradient read what the forward pass split, so a plan
    /// uses phases for all three products or none.
    case phases
    /// im2col and OpenBLAS sgemm, image by image: the only kernel for tensors without a zero border.
    case im2col
    /// Blocked matrix products over 64 output positions at a time on the Winograd kernels'
    /// micro-kernels (`ck_gemm_conv_*`), any kernel size and stride.
    case blockedProducts = "gemm"
    /// Winograd F(2×2, 3×3) and F(4×4, 3×3) (`ck_winograd_*`), 3×3 stride-1 convolutions only.
    case winograd2 = "F2"
    case winograd4 = "F4"

    /// m of Winograd F(m×m, 3×3); nil for the other kernels.
    public var winogradTile: Int? {
        switch self {
        case .winograd2: 2
        case .winograd4: 4
        default: nil
        }
    }

    /// "direct", "phases", "im2col", "gemm", "F2" or "F4".
    public var description: String { rawValue }
}

/// The kernel of each product of one convolution.
public struct ConvolutionPlan: Equatable, Sendable {
    public var forward: ConvolutionKernel
    public var inputGradient: ConvolutionKernel
    public var weightGradient: ConvolutionKernel

    public init(forward: ConvolutionKernel, inputGradient: ConvolutionKernel, weightGradient: ConvolutionKernel) {
        (self.forward, self.inputGradient, self.weightGradient) = (forward, inputGradient, weightGradient)
    }

    /// The same kernel for all three products.
    public static func all(_ kernel: ConvolutionKernel) -> ConvolutionPlan {
        ConvolutionPlan(forward: kernel, inputGradient: kernel, weightGradient: kernel)
    }

    public var kernels: [ConvolutionKernel] { [forward, inputGradient, weightGradient] }

    /// The Winograd tile sizes the plan uses (sizes the shared scratch).
    var winogradTiles: Set<Int> { Set(kernels.compactMap(\.winogradTile)) }

    /// How a layer of stride `stride` runs under this plan, for people: "direct",
    /// "winograd (F4 fwd, F4 dx, direct dw)", "direct over 4 phases", "im2col+sgemm",
    /// "gemm (blocks of 64 positions)".
    func summary(stride: Int) -> String {
        let uniform: String? = switch forward {
        case _ where Set(kernels).count > 1: nil
        case .direct: "direct"
        case .phases: "direct over \(stride * stride) phases"
        case .im2col: "im2col+sgemm"
        case .blockedProducts: "gemm (blocks of \(GemmBlocking.block) positions)"
        case .winograd2, .winograd4: nil
        }
        if let uniform { return uniform }
        let names = zip(kernels, ["fwd", "dx", "dw"]).map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        return winogradTiles.isEmpty ? names : "winograd (\(names))"
    }
}

/// The one place that decides which kernel each product of a convolution runs on: a pure function
/// of the layer's shape, of whether its tensors carry zero borders, of the policy and of the
/// instruction set, so that every process that builds the same model with the same options runs
/// the same kernels and computes the same bits. `Network` asks it for every `Conv2D` when it is
/// built and whenever its policy or instruction set changes, and hands each layer its plan.
public enum ConvolutionPlanner {
    /// What the planner knows of one convolution.
    public struct Layer: Equatable, Sendable {
        public var inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
        /// Whether the layer's input and its output's gradient carry the zero border the direct,
        /// phase, Winograd and blocked kernels read: decided by the graph (`GraphPlan`), false when
        /// one of them must be a plain array (read by a linear layer or the loss), or when the
        /// padding exceeds kernel − 1.
        public var bordered: Bool

        public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, bordered: Bool) {
            (self.inChannels, self.outChannels, self.kernel) = (inChannels, outChannels, kernel)
            (self.stride, self.padding, self.bordered) = (stride, padding, bordered)
        }

        /// Whether the Winograd kernels can run this layer's products (3×3, stride 1, bordered).
        public var admitsWinograd: Bool { bordered && kernel == 3 && stride == 1 }
    }

    public static func plan(_ layer: Layer, policy: ConvolutionPolicy, instructionSet: InstructionSet) -> ConvolutionPlan {
        guard layer.bordered else { return .all(.im2col) }
        if layer.stride > 1 {
            // Winograd covers stride 1 only; blocked products replace the phases wherever the policy
            // allows more than the direct kernels.
            return .all(policy != .direct && instructionSet == .avx2 ? .blockedProducts : .phases)
        }
        // Other stride-1 layers (1×1) stay on the direct kernels: as blocked products, with their
        // few input channels, the gather costs more than it saves (docs/PERFORMANCE.md, section
        // "Strided convolutions as blocked matrix products").
        guard layer.admitsWinograd else { return .all(.direct) }
        switch policy {
        case .direct: return .all(.direct)
        case .winograd: return .all(.winograd4)
        case .winograd2: return .all(.winograd2)
        case .auto:
            // Portable C is for correctness on CPUs without AVX2, not speed: keep the simple kernels.
            guard instructionSet == .avx2 else { return .all(.direct) }
            // The matrix products grow with cin · cout per tile, the transforms with cin + cout:
            // their ratio, the harmonic mean of the two, decides; the plane size does not hold
            // Winograd back (the direct kernels are weak on small planes too). The thresholds and
            // the measurements behind them: docs/PERFORMANCE.md, section "The planner's choice,
            // and why it is not measured at start-up"; F(4×4) only, section "Tile size and error".
            let balance = 2 * layer.inChannels * layer.outChannels / (layer.inChannels + layer.outChannels)
            let products: ConvolutionKernel = balance >= 12 ? .winograd4 : .direct
            return ConvolutionPlan(forward: products, inputGradient: products,
                                   weightGradient: balance >= 16 ? .winograd4 : .direct)
        }
    }
}

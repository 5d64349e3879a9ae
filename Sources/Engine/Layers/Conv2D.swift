import CKernels
import COpenBLAS

/// 2-D convolution, NCHW, any kernel size, stride and padding, with or without bias.
///
/// Each of its three products — forward, input gradient, weight gradient — runs on the kernel
/// its plan names (`ConvolutionPlan`, from `ConvolutionPlanner`, handed over by the network with
/// `use(_:scratch:)`); `forward` and `backward` switch on it:
/// - `direct` (stride 1, tensors that carry a zero border), the AVX2 kernels:
///   forward  out = conv(in, w)               (input read through its zero border: no copy),
///   backward din = conv(pad(dout), flip(wᵀ)) (the same kernel, weights packed transposed+flipped),
///            dw  = Σ dout ⊗ in               (a reduction kernel);
/// - `phases` (stride s > 1): the padded input is split into its s² phases
///   P_bc[i][j] = in[s·i + b][s·j + c], and the convolution is the sum over phases of stride-1
///   convolutions of P_bc with the sub-kernels w[s·a + b][s·d + c] (2×2, 2×1, 1×2, 1×1 for a 3×3
///   kernel at stride 2) on the same direct kernels; the input gradient is the phase-wise "full"
///   convolution of the output gradient with the flipped sub-kernels, merged back;
/// - `im2col`: im2col and OpenBLAS sgemm per image (anything next to a matrix product);
/// - `blockedProducts`: the im2col columns of 64 output positions at a time, on the Winograd
///   kernels' micro-kernels (`ck_gemm_conv_*`);
/// - `winograd2`, `winograd4`: Winograd F(2×2, 3×3) and F(4×4, 3×3) (Conv2D+Winograd.swift).
final class Conv2D: Node {
    /// One phase (b, c) of a strided convolution and its sub-kernel.
    final class Phase {
        let row: Int, column: Int, height: Int, width: Int
        let subWeights: FloatBuffer, subGradient: FloatBuffer
        let packedForward: FloatBuffer, packedBackward: FloatBuffer
        /// Where each tap (a, d) of the sub-kernel sits in the full k×k kernel:
        /// sub[co][ci][a][d] = w[co][ci][s·a + row][s·d + column].
        let taps: [Int]
        init(row: Int, column: Int, height: Int, width: Int, kernel: Int, stride: Int, outChannels: Int,
             inChannels: Int) {
            (self.row, self.column, self.height, self.width) = (row, column, height, width)
            taps = (0 ..< height * width).map { (stride * ($0 / width) + row) * kernel + stride * ($0 % width) + column }
            let count = outChannels * inChannels * height * width
            subWeights = FloatBuffer(count: count)
            subGradient = FloatBuffer(count: count)
            packedForward = FloatBuffer(count: ck_conv_packed_count(Int32(outChannels), Int32(inChannels),
                                                                    Int32(height), Int32(width)))
            packedBackward = FloatBuffer(count: ck_conv_packed_count(Int32(inChannels), Int32(outChannels),
                                                                     Int32(height), Int32(width)))
        }
        var isEmpty: Bool { height == 0 || width == 0 }
    }
    let name: String
    let inputs: [Int]
    let output: Int
    let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    let inShape: TensorShape, outShape: TensorShape
    let weight: ParameterSpec
    let bias: ParameterSpec?
    var parameterSpecs: [ParameterSpec] { [weight] + (bias.map { [$0] } ?? []) }

    /// The kernel of each product, handed over by the network (`use(_:scratch:)`).
    private(set) var kernels = ConvolutionPlan.all(.im2col)
    /// The kernel each product last ran on since the plan was handed over (written next to the
    /// kernel calls, so that tests can check that the layer runs what its plan says).
    private(set) var ran = ConvolutionKernelsRun()
    /// Scratch shared by the network's convolutions (Winograd and blocked products).
    private(set) var scratch = ScratchArena()
    /// The weights the forward kernel and the input-gradient kernel read, where they are not the
    /// direct kernels' packing: transformed for Winograd (G w Gᵀ, and of the transposed flipped
    /// weights), or packed for blocked products ([cout/4][cin·k·k][4], and transposed).
    var forwardWeights: FloatBuffer?
    var inputGradientWeights: FloatBuffer?
    /// Set by the network when a batch norm takes its statistics from this convolution's epilogue:
    /// after a training forward pass `channelSums` holds Σx and Σx² of each output channel.
    var computesStatistics = false
    let channelSums: DoubleBuffer

    private var packedForward: FloatBuffer
    private var packedBackward: FloatBuffer
    private var columns: FloatBuffer?
    private var staging: FloatBuffer?
    private var phases: [Phase] = []
    private var phaseInput: FloatBuffer?
    private var phaseGradient: FloatBuffer?
    /// The padded input extent and the size of one phase plane.
    var paddedHeight: Int { inShape.height + 2 * padding }
    var paddedWidth: Int { inShape.width + 2 * padding }
    var phaseHeight: Int { (paddedHeight + stride - 1) / stride }
    var phaseWidth: Int { (paddedWidth + stride - 1) / stride }

    /// Sub-kernel extent of phase b along a dimension: the taps s·a + b < k.
    func phaseExtent(_ b: Int) -> Int { b < kernel ? (kernel - b + stride - 1) / stride : 0 }

    /// The rows i of phase b whose padded position s·i + b falls inside the input (the part of the
    /// phase's input gradient that the merge reads): `first ..< first + count`.
    func neededPhaseRange(_ b: Int, size: Int) -> (first: Int, count: Int) {
        let first = max(0, (padding - b + stride - 1) / stride)
        let last = padding + size - 1 - b < 0 ? -1 : (padding + size - 1 - b) / stride
        return (first, max(0, last - first + 1))
    }

    /// The zero border the output gradient carries when the layer is bordered: what the direct
    /// kernels' input gradient reads at stride 1, what the phases' input gradient reads at stride
    /// s > 1 (the blocked products read no border).
    var outputGradientBorder: Int {
        guard stride > 1 else { return kernel - 1 - padding }
        // Phase b's "full" convolution reads output-gradient rows i − a for its needed rows i
        // and taps a < extent: from first − (extent − 1) to last.
        var border = 0
        for b in 0 ..< stride where phaseExtent(b) > 0 {
            for (range, outSize) in [(neededPhaseRange(b, size: inShape.height), outShape.height),
                                     (neededPhaseRange(b, size: inShape.width), outShape.width)] where range.count > 0 {
                border = max(border, phaseExtent(b) - 1 - range.first, range.first + range.count - outSize)
            }
        }
        return border
    }

    /// What the planner knows of this layer, with `bordered` from the graph.
    func plannerLayer(bordered: Bool) -> ConvolutionPlanner.Layer {
        ConvolutionPlanner.Layer(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                                 padding: padding, bordered: bordered)
    }

    /// Takes the planner's kernels and the network's shared scratch (then `allocate(images:)`
    /// makes the buffers they need).
    func use(_ plan: ConvolutionPlan, scratch: ScratchArena) {
        // The phases' gradients read the phases the forward pass split.
        precondition(plan.forward == .phases || !plan.kernels.contains(.phases), "\(name): \(plan)")
        kernels = plan
        self.scratch = scratch
        ran = ConvolutionKernelsRun()
    }

    /// How this layer runs (`ConvolutionPlan.summary`): "direct", "winograd (F4 fwd, F4 dx, F4 dw)",
    /// "direct over 4 phases", "im2col+sgemm", "gemm (blocks of 64 positions)".
    var kernelDescription: String { kernels.summary(stride: stride) }

    static func outputSize(_ size: Int, kernel: Int, stride: Int, padding: Int) -> Int {
        (size + 2 * padding - kernel) / stride + 1
    }

    init(name: String, input: Int, output: Int, inShape: TensorShape, outChannels: Int, kernel: Int, stride: Int,
         padding: Int, bias useBias: Bool, parameters: inout ParameterTableBuilder) {
        self.name = name
        self.inputs = [input]
        self.output = output
        self.inChannels = inShape.channels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.inShape = inShape
        self.outShape = TensorShape(
            channels: outChannels,
            height: Self.outputSize(inShape.height, kernel: kernel, stride: stride, padding: padding),
            width: Self.outputSize(inShape.width, kernel: kernel, stride: stride, padding: padding))
        let fanIn = inShape.channels * kernel * kernel
        weight = parameters.declare("\(name).weight", shape: [outChannels, inShape.channels, kernel, kernel],
                                    role: .weight, decays: true, initializer: .kaimingNormal(fanIn: fanIn))
        bias = useBias ? parameters.declare("\(name).bias", shape: [outChannels], role: .bias, decays: false,
                                            initializer: .uniform(fanIn: fanIn)) : nil
        channelSums = DoubleBuffer(count: 2 * outChannels)
        packedForward = FloatBuffer(count: ck_conv_packed_count(Int32(outChannels), Int32(inChannels), Int32(kernel),
                                                                Int32(kernel)))
        packedBackward = FloatBuffer(count: ck_conv_packed_count(Int32(inChannels), Int32(outChannels), Int32(kernel),
                                                                 Int32(kernel)))
    }

    var flopsPerSample: Int {
        2 * outChannels * inChannels * kernel * kernel * outShape.height * outShape.width
    }

    /// The floats of each buffer the plan needs for passes of `images` images (0: none). The
    /// shared scratch is the network's (`sharedScratchCount`, `Network.reservedBytes`).
    private func bufferCounts(images: Int) -> (forwardWeights: Int, inputGradientWeights: Int, columns: Int,
                                               staging: Int, phaseInput: Int, phaseGradient: Int) {
        let (cout, cin, k) = (Int32(outChannels), Int32(inChannels), Int32(kernel))
        func weights(_ product: ConvolutionKernel, transposed: Bool) -> Int {
            if let m = product.winogradTile {
                return transposed ? ck_winograd_weights_count(Int32(m), cin, cout) : ck_winograd_weights_count(Int32(m), cout, cin)
            }
            return product == .blockedProducts ? ck_gemm_conv_weights_count(cout, cin, k, k, transposed ? 1 : 0) : 0
        }
        let phaseFloats = images * stride * stride * inChannels * phaseHeight * phaseWidth + 64
        return (weights(kernels.forward, transposed: false), weights(kernels.inputGradient, transposed: true),
                kernels.kernels.contains(.im2col) ? inChannels * kernel * kernel * outShape.height * outShape.width : 0,
                kernels.forward == .im2col ? outShape.elements : 0,
                kernels.forward == .phases ? phaseFloats : 0,
                kernels.inputGradient == .phases ? phaseFloats : 0)
    }

    func allocate(images: Int) {
        let counts = bufferCounts(images: images)
        func buffer(_ count: Int) -> FloatBuffer? { count > 0 ? FloatBuffer(count: count) : nil }
        forwardWeights = buffer(counts.forwardWeights)
        inputGradientWeights = buffer(counts.inputGradientWeights)
        columns = buffer(counts.columns)
        staging = buffer(counts.staging)
        phaseInput = buffer(counts.phaseInput)
        phaseGradient = buffer(counts.phaseGradient)
        if kernels.forward == .phases && phases.isEmpty {
            phases = (0 ..< stride * stride).map { q in
                Phase(row: q / stride, column: q % stride, height: phaseExtent(q / stride),
                      width: phaseExtent(q % stride), kernel: kernel, stride: stride, outChannels: outChannels,
                      inChannels: inChannels)
            }
        }
        scratch.reserve(sharedScratchCount())
    }

    func scratchBytes(images: Int) -> Int {
        let c = bufferCounts(images: images)
        return 4 * (c.forwardWeights + c.inputGradientWeights + c.columns + c.staging + c.phaseInput + c.phaseGradient)
    }

    /// Floats of the network's shared scratch this layer needs (Winograd or blocked products).
    func sharedScratchCount() -> Int {
        let blocked = !kernels.kernels.contains(.blockedProducts) ? 0
            : ck_gemm_conv_scratch_count(Int32(inChannels), Int32(outChannels), Int32(kernel), Int32(kernel),
                                         Int32(GemmBlocking.block))
        return max(blocked, winogradScratchCount())
    }

    func prepare(_ parameters: ParameterStore, isa: Int32) {
        let w = parameters.values.pointer + weight.offset
        let (cout, cin, k) = (Int32(outChannels), Int32(inChannels), Int32(kernel))
        switch kernels.forward {
        case .direct: ck_conv_pack(w, cout, cin, k, k, 0, packedForward.pointer)
        case .phases: preparePhases(w)
        case .im2col: break
        case .blockedProducts: ck_gemm_conv_pack(w, cout, cin, k, k, 0, forwardWeights!.pointer)
        case .winograd2, .winograd4:
            ck_winograd_transform_weights(Int32(kernels.forward.winogradTile!), w, cout, cin, 0, forwardWeights!.pointer)
        }
        switch kernels.inputGradient {
        case .direct: ck_conv_pack(w, cout, cin, k, k, 1, packedBackward.pointer)
        case .phases, .im2col: break   // (the phases' transposed sub-kernels are packed by `preparePhases`)
        case .blockedProducts: ck_gemm_conv_pack(w, cout, cin, k, k, 1, inputGradientWeights!.pointer)
        case .winograd2, .winograd4:
            ck_winograd_transform_weights(Int32(kernels.inputGradient.winogradTile!), w, cout, cin, 1,
                                          inputGradientWeights!.pointer)
        }
    }

    /// Each phase's sub-kernel, packed for the forward pass and (transposed and flipped) for the
    /// input gradient.
    private func preparePhases(_ w: UnsafeMutablePointer<Float>) {
        let (cout, cin) = (Int32(outChannels), Int32(inChannels))
        for phase in phases where !phase.isEmpty {
            let sub = phase.subWeights.pointer
            phase.taps.withUnsafeBufferPointer { taps in
                for pair in 0 ..< outChannels * inChannels {
                    let source = w + pair * kernel * kernel, target = sub + pair * taps.count
                    for (j, tap) in taps.enumerated() { target[j] = source[tap] }
                }
            }
            ck_conv_pack(sub, cout, cin, Int32(phase.height), Int32(phase.width), 0, phase.packedForward.pointer)
            ck_conv_pack(sub, cout, cin, Int32(phase.height), Int32(phase.width), 1, phase.packedBackward.pointer)
        }
    }

    /// Phase q of a phase buffer, as a view of `images` images.
    private func phaseView(_ buffer: FloatBuffer, _ q: Int) -> ck_view {
        let plane = phaseHeight * phaseWidth
        return ck_view(data: buffer.pointer + q * inChannels * plane, image: stride * stride * inChannels * plane,
                       plane: plane, row: phaseWidth)
    }

    func forward(_ pass: Pass) {
        let x = pass.activations[inputs[0]], y = pass.activations[output]
        let statistics = pass.training && computesStatistics
        if statistics { channelSums.zero() }
        let sums = statistics ? channelSums.pointer : nil
        let biasPointer = bias.map { UnsafePointer(pass.value($0)) }
        switch kernels.forward {
        case .direct:
            ck_conv_forward(pass.isa, x.view(paddedBy: padding), Int32(inChannels), y.view, Int32(outChannels),
                            Int32(pass.images), Int32(outShape.height), Int32(outShape.width),
                            packedForward.pointer, Int32(kernel), Int32(kernel), biasPointer, 0, sums)
            ran.forward = .direct
        case .phases:
            phasesForward(pass, input: x.view(paddedBy: padding), output: y.view, bias: biasPointer, sums: sums)
            ran.forward = .phases
        case .im2col:
            im2colForward(pass, input: x.view, output: y.view, bias: biasPointer)
            if let sums {
                // Without a centre: Σx and Σx², as the other kernels' epilogues give them.
                ck_channel_sums(pass.isa, y.view, Int32(pass.images), Int32(outChannels), Int32(outShape.height),
                                Int32(outShape.width), nil, sums)
            }
            ran.forward = .im2col
        case .blockedProducts:
            ck_gemm_conv_forward(pass.isa, x.view(paddedBy: padding), Int32(inChannels), y.view, Int32(outChannels),
                                 Int32(pass.images), Int32(outShape.height), Int32(outShape.width), Int32(kernel),
                                 Int32(kernel), Int32(stride), forwardWeights!.pointer, biasPointer, 0, sums,
                                 scratch.pointer, Int32(GemmBlocking.block))
            ran.forward = .blockedProducts
        case .winograd2, .winograd4:
            winogradForward(pass, tile: kernels.forward.winogradTile!, input: x.view(paddedBy: padding),
                            output: y.view, bias: biasPointer, sums: sums)
            ran.forward = kernels.forward
        }
    }

    func backward(_ pass: Pass, needsGradient: [Bool], accumulate: [Bool]) {
        let x = pass.activations[inputs[0]], dy = pass.gradients[output]
        let dw = pass.gradient(weight)
        let dbias = bias.map { pass.gradient($0) }
        switch kernels.weightGradient {
        case .direct:
            ck_conv_backward_weights(pass.isa, dy.view, Int32(outChannels), x.view(paddedBy: padding),
                                     Int32(inChannels), Int32(pass.images), Int32(outShape.height),
                                     Int32(outShape.width), Int32(kernel), Int32(kernel), dw, dbias)
            ran.weightGradient = .direct
        case .phases:
            phasesWeightGradient(pass, outputGradient: dy.view, weightGradient: dw, biasGradient: dbias)
            ran.weightGradient = .phases
        case .im2col:
            im2colWeightGradient(pass, input: x.view, outputGradient: dy.view, weightGradient: dw, biasGradient: dbias)
            ran.weightGradient = .im2col
        case .blockedProducts:
            ck_gemm_conv_backward_weights(pass.isa, dy.view, Int32(outChannels), x.view(paddedBy: padding),
                                          Int32(inChannels), Int32(pass.images), Int32(outShape.height),
                                          Int32(outShape.width), Int32(kernel), Int32(kernel), Int32(stride), dw,
                                          scratch.pointer, Int32(GemmBlocking.block))
            addBiasGradient(pass, outputGradient: dy.view, biasGradient: dbias)
            ran.weightGradient = .blockedProducts
        case .winograd2, .winograd4:
            winogradWeightGradient(pass, tile: kernels.weightGradient.winogradTile!, outputGradient: dy.view,
                                   input: x.view(paddedBy: padding), weightGradient: dw)
            addBiasGradient(pass, outputGradient: dy.view, biasGradient: dbias)
            ran.weightGradient = kernels.weightGradient
        }
        guard needsGradient[0] else { return }
        let dx = pass.gradients[inputs[0]]
        switch kernels.inputGradient {
        case .direct:
            ck_conv_forward(pass.isa, dy.view(paddedBy: kernel - 1 - padding), Int32(outChannels), dx.view,
                            Int32(inChannels), Int32(pass.images), Int32(inShape.height), Int32(inShape.width),
                            packedBackward.pointer, Int32(kernel), Int32(kernel), nil, accumulate[0] ? 1 : 0, nil)
            ran.inputGradient = .direct
        case .phases:
            phasesInputGradient(pass, outputGradient: dy, inputGradient: dx.view, accumulate: accumulate[0])
            ran.inputGradient = .phases
        case .im2col:
            im2colInputGradient(pass, outputGradient: dy.view, inputGradient: dx.view, accumulate: accumulate[0])
            ran.inputGradient = .im2col
        case .blockedProducts:
            ck_gemm_conv_backward_input(pass.isa, dy.view, Int32(outChannels), dx.view, Int32(inChannels),
                                        Int32(pass.images), Int32(inShape.height), Int32(inShape.width),
                                        Int32(outShape.height), Int32(outShape.width), Int32(kernel), Int32(kernel),
                                        Int32(stride), Int32(padding), accumulate[0] ? 1 : 0,
                                        inputGradientWeights!.pointer, scratch.pointer, Int32(GemmBlocking.block))
            ran.inputGradient = .blockedProducts
        case .winograd2, .winograd4:
            winogradInputGradient(pass, tile: kernels.inputGradient.winogradTile!,
                                  outputGradient: dy.view(paddedBy: kernel - 1 - padding), inputGradient: dx.view,
                                  accumulate: accumulate[0])
            ran.inputGradient = kernels.inputGradient
        }
    }

    /// dbias[co] += Σ dy[co] (for the kernels whose weight gradient leaves the bias out).
    private func addBiasGradient(_ pass: Pass, outputGradient dy: ck_view, biasGradient: UnsafeMutablePointer<Float>?) {
        guard let biasGradient else { return }
        ck_conv_backward_bias(dy, Int32(outChannels), Int32(pass.images), Int32(outShape.height),
                              Int32(outShape.width), biasGradient)
    }

    // MARK: Phases

    private func phasesForward(_ pass: Pass, input: ck_view, output: ck_view, bias: UnsafePointer<Float>?,
                               sums: UnsafeMutablePointer<Double>?) {
        ck_phase_split(input, Int32(pass.images), Int32(inChannels), Int32(paddedHeight), Int32(paddedWidth),
                       Int32(stride), phaseInput!.pointer, Int32(phaseHeight), Int32(phaseWidth))
        let active = phases.indices.filter { !phases[$0].isEmpty }
        for (n, q) in active.enumerated() {
            let phase = phases[q]
            ck_conv_forward(pass.isa, phaseView(phaseInput!, q), Int32(inChannels), output, Int32(outChannels),
                            Int32(pass.images), Int32(outShape.height), Int32(outShape.width),
                            phase.packedForward.pointer, Int32(phase.height), Int32(phase.width),
                            n == 0 ? bias : nil, n == 0 ? 0 : 1, n == active.count - 1 ? sums : nil)
        }
    }

    /// dw[co][ci][s·a + b][s·d + c] += Σ dy[co] ⊗ P_bc[ci] shifted by (a, d), over the phases the
    /// forward pass split.
    private func phasesWeightGradient(_ pass: Pass, outputGradient dy: ck_view, weightGradient dw: UnsafeMutablePointer<Float>,
                                      biasGradient: UnsafeMutablePointer<Float>?) {
        var first = true
        for (q, phase) in phases.enumerated() where !phase.isEmpty {
            phase.subGradient.zero()
            ck_conv_backward_weights(pass.isa, dy, Int32(outChannels), phaseView(phaseInput!, q), Int32(inChannels),
                                     Int32(pass.images), Int32(outShape.height), Int32(outShape.width),
                                     Int32(phase.height), Int32(phase.width), phase.subGradient.pointer,
                                     first ? biasGradient : nil)
            first = false
            let sub = phase.subGradient.pointer
            phase.taps.withUnsafeBufferPointer { taps in
                for pair in 0 ..< outChannels * inChannels {
                    let source = sub + pair * taps.count, target = dw + pair * kernel * kernel
                    for (j, tap) in taps.enumerated() { target[tap] += source[j] }
                }
            }
        }
    }

    /// dP_bc = the full convolution of dy with the flipped sub-kernel (dy read from (i − a, j − d)),
    /// only over the rows and columns that map back into the input; then merged into dx.
    private func phasesInputGradient(_ pass: Pass, outputGradient dy: ActivationSlot, inputGradient dx: ck_view,
                                     accumulate: Bool) {
        for (q, phase) in phases.enumerated() where !phase.isEmpty {
            let rows = neededPhaseRange(phase.row, size: inShape.height)
            let columns = neededPhaseRange(phase.column, size: inShape.width)
            guard rows.count > 0 && columns.count > 0 else { continue }
            var target = phaseView(phaseGradient!, q)
            target.data! += rows.first * phaseWidth + columns.first
            ck_conv_forward(pass.isa, dy.view(paddedByRows: phase.height - 1 - rows.first,
                                              columns: phase.width - 1 - columns.first),
                            Int32(outChannels), target, Int32(inChannels), Int32(pass.images), Int32(rows.count),
                            Int32(columns.count), phase.packedBackward.pointer, Int32(phase.height),
                            Int32(phase.width), nil, 0, nil)
        }
        ck_phase_merge(phaseGradient!.pointer, Int32(phaseHeight), Int32(phaseWidth), Int32(stride), Int32(padding),
                       dx, accumulate ? 1 : 0, Int32(pass.images), Int32(inChannels), Int32(inShape.height),
                       Int32(inShape.width))
    }

    // MARK: im2col and sgemm, image by image

    private func im2colForward(_ pass: Pass, input x: ck_view, output y: ck_view, bias: UnsafePointer<Float>?) {
        let pixels = outShape.height * outShape.width
        let k = inChannels * kernel * kernel
        let w = pass.value(weight)
        for n in 0 ..< pass.images {
            im2col(x.advanced(images: n))
            let outView = y.advanced(images: n)
            let dense = outView.plane == pixels && outView.row == outShape.width
            let target = dense ? outView.data! : staging!.pointer
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(outChannels), Int32(pixels), Int32(k),
                        1, w, Int32(k), columns!.pointer, Int32(pixels), 0, target, Int32(pixels))
            if let bias {
                for c in 0 ..< outChannels {
                    let row = target + c * pixels
                    for i in 0 ..< pixels { row[i] += bias[c] }
                }
            }
            if !dense {
                ck_copy(pass.isa, .dense(target, shape: outShape), outView, 0, 1, Int32(outChannels),
                        Int32(outShape.height), Int32(outShape.width))
            }
        }
    }

    /// The output gradient of image n, which this kernel reads as a plain array.
    private func denseGradient(_ dy: ck_view, image n: Int) -> UnsafeMutablePointer<Float> {
        let view = dy.advanced(images: n)
        precondition(view.plane == outShape.height * outShape.width && view.row == outShape.width,
                     "im2col path needs a dense gradient")
        return view.data!
    }

    private func im2colWeightGradient(_ pass: Pass, input x: ck_view, outputGradient dy: ck_view,
                                      weightGradient dw: UnsafeMutablePointer<Float>,
                                      biasGradient: UnsafeMutablePointer<Float>?) {
        let pixels = outShape.height * outShape.width
        let k = inChannels * kernel * kernel
        for n in 0 ..< pass.images {
            let g = denseGradient(dy, image: n)
            im2col(x.advanced(images: n))
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(outChannels), Int32(k), Int32(pixels),
                        1, g, Int32(pixels), columns!.pointer, Int32(pixels), 1, dw, Int32(k))
            if let biasGradient {
                for c in 0 ..< outChannels {
                    var sum: Float = 0
                    for i in 0 ..< pixels { sum += g[c * pixels + i] }
                    biasGradient[c] += sum
                }
            }
        }
    }

    private func im2colInputGradient(_ pass: Pass, outputGradient dy: ck_view, inputGradient dx: ck_view,
                                     accumulate: Bool) {
        let pixels = outShape.height * outShape.width
        let k = inChannels * kernel * kernel
        let w = pass.value(weight)
        for n in 0 ..< pass.images {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(pixels), Int32(outChannels),
                        1, w, Int32(k), denseGradient(dy, image: n), Int32(pixels), 0, columns!.pointer, Int32(pixels))
            col2im(dx.advanced(images: n), accumulate: accumulate)
        }
    }

    /// columns[(ci·k + ky)·k + kx][oy·W' + ox] = x[ci][oy·s − p + ky][ox·s − p + kx] (0 outside).
    private func im2col(_ x: ck_view) {
        let columns = columns!.pointer
        let (h, w, oh, ow) = (inShape.height, inShape.width, outShape.height, outShape.width)
        var row = columns
        for ci in 0 ..< inChannels {
            let plane = x.data! + ci * x.plane
            for ky in 0 ..< kernel {
                for kx in 0 ..< kernel {
                    for oy in 0 ..< oh {
                        let iy = oy * stride - padding + ky
                        let out = row + oy * ow
                        if iy < 0 || iy >= h {
                            out.update(repeating: 0, count: ow)
                            continue
                        }
                        let source = plane + iy * x.row
                        for ox in 0 ..< ow {
                            let ix = ox * stride - padding + kx
                            out[ox] = ix >= 0 && ix < w ? source[ix] : 0
                        }
                    }
                    row += oh * ow
                }
            }
        }
    }

    /// dx[ci][iy][ix] (+)= Σ columns entries that im2col read from there.
    private func col2im(_ dx: ck_view, accumulate: Bool) {
        let columns = columns!.pointer
        let (h, w, oh, ow) = (inShape.height, inShape.width, outShape.height, outShape.width)
        if !accumulate {
            for ci in 0 ..< inChannels {
                for iy in 0 ..< h { (dx.data! + ci * dx.plane + iy * dx.row).update(repeating: 0, count: w) }
            }
        }
        var row = UnsafePointer(columns)
        for ci in 0 ..< inChannels {
            let plane = dx.data! + ci * dx.plane
            for ky in 0 ..< kernel {
                for kx in 0 ..< kernel {
                    for oy in 0 ..< oh {
                        let iy = oy * stride - padding + ky
                        guard iy >= 0 && iy < h else { continue }
                        let target = plane + iy * dx.row
                        let source = row + oy * ow
                        for ox in 0 ..< ow {
                            let ix = ox * stride - padding + kx
                            if ix >= 0 && ix < w { target[ix] += source[ox] }
                        }
                    }
                    row += oh * ow
                }
            }
        }
    }
}

/// Output positions per block of the blocked matrix products (`ConvolutionKernel.blockedProducts`):
/// fixed, since the order of the sums depends on it.
enum GemmBlocking {
    static let block = 64
}

/// The kernels a convolution's products last ran on (nil: not run since the plan was handed over).
public struct ConvolutionKernelsRun: Equatable, Sendable {
    public var forward: ConvolutionKernel?
    public var inputGradient: ConvolutionKernel?
    public var weightGradient: ConvolutionKernel?

    public init() {}
}

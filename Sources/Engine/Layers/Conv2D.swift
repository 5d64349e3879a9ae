import CKernels
import COpenBLAS

/// 2-D convolution, NCHW, any kernel size, stride and padding, with or without bias.
///
/// Three ways to run, chosen by the planner:
/// - `direct` (stride 1, tensors that can carry a zero border), the AVX2 kernels:
///   forward  out = conv(in, w)               (input read through its zero border: no copy),
///   backward din = conv(pad(dout), flip(wᵀ)) (the same kernel, weights packed transposed+flipped),
///            dw  = Σ dout ⊗ in               (a reduction kernel);
/// - `phases` (stride s > 1): the padded input is split into its s² phases
///   P_bc[i][j] = in[s·i + b][s·j + c], and the convolution is the sum over phases of stride-1
///   convolutions of P_bc with the sub-kernels w[s·a + b][s·d + c] (2×2, 2×1, 1×2, 1×1 for a 3×3
///   kernel at stride 2) on the same direct kernels; the input gradient is the phase-wise "full"
///   convolution of the output gradient with the flipped sub-kernels, merged back;
/// - `im2col`: im2col and OpenBLAS sgemm per image (anything next to a matrix product).
///
/// On the direct path a 3×3 convolution may run any of its three products on the Winograd kernels
/// instead (`algorithms`, chosen by `WinogradPlanner`; see Winograd.swift), and a strided
/// convolution on the phases path may run as blocked matrix products instead (`gemm`: the
/// im2col columns of 64 output positions at a time, on the Winograd kernels' micro-kernels;
/// `ck_gemm_conv_*`), which the planner chooses wherever it chooses Winograd.
final class Conv2D: Node {
    enum Path: String { case direct, phases, im2col }

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

    /// Set by the planner.
    var path = Path.im2col
    var direct: Bool { path == .direct }
    /// Set by the network from its `ConvolutionPolicy` (direct path, 3×3 kernels only).
    var algorithms = ConvolutionAlgorithms.direct
    /// Set by the network from its `ConvolutionPolicy`: run all three products as blocked matrix
    /// products (`gemmEligible` layers only).
    var gemm = false
    /// The weights packed for the blocked products: [cout/4][cin·k·k][4], and transposed.
    private var gemmWeights: FloatBuffer?
    private var gemmTransposedWeights: FloatBuffer?
    /// Shared scratch of the network's Winograd products, and this layer's transformed weights
    /// (G w Gᵀ for the forward pass, of the transposed flipped weights for the input gradient).
    var scratch: ScratchArena?
    var winogradWeights: FloatBuffer?
    var winogradFlippedWeights: FloatBuffer?
    /// Set by the planner when a batch norm takes its statistics from this convolution's epilogue:
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

    /// The zero border the output gradient needs for the chosen path.
    var outputGradientPadding: Int {
        switch path {
        case .direct: return kernel - 1 - padding
        case .phases:
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
        case .im2col: return 0
        }
    }

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

    func allocate(images: Int) {
        let counts = scratchCounts(images: images)
        if gemm {
            gemmWeights = FloatBuffer(count: counts[0])
            gemmTransposedWeights = FloatBuffer(count: counts[1])
            scratch!.reserve(sharedScratchCount())
            return
        }
        switch path {
        case .direct:
            if algorithms.forward > 0 { winogradWeights = FloatBuffer(count: counts[0]) }
            if algorithms.inputGradient > 0 { winogradFlippedWeights = FloatBuffer(count: counts[1]) }
            if algorithms.usesWinograd { scratch!.reserve(winogradScratchCount()) }
        case .im2col:
            columns = FloatBuffer(count: counts[0])
            staging = FloatBuffer(count: counts[1])
        case .phases:
            if phases.isEmpty {
                phases = (0 ..< stride * stride).map { q in
                    Phase(row: q / stride, column: q % stride, height: phaseExtent(q / stride),
                          width: phaseExtent(q % stride), kernel: kernel, stride: stride, outChannels: outChannels,
                          inChannels: inChannels)
                }
            }
            phaseInput = FloatBuffer(count: counts[0])
            phaseGradient = FloatBuffer(count: counts[1])
        }
    }

    /// The floats of the two buffers `allocate(images:)` makes on this layer's path: the Winograd
    /// weights (forward, flipped), the im2col columns and staging, or the phase input and gradient.
    /// (The shared Winograd scratch is the network's, see `Network.reservedBytes`.)
    private func scratchCounts(images: Int) -> [Int] {
        if gemm {
            let (cout, cin, k) = (Int32(outChannels), Int32(inChannels), Int32(kernel))
            return [ck_gemm_conv_weights_count(cout, cin, k, k, 0), ck_gemm_conv_weights_count(cout, cin, k, k, 1)]
        }
        return switch path {
        case .direct:
            [algorithms.forward > 0 ? ck_winograd_weights_count(Int32(algorithms.forward), Int32(outChannels), Int32(inChannels)) : 0,
             algorithms.inputGradient > 0
                ? ck_winograd_weights_count(Int32(algorithms.inputGradient), Int32(inChannels), Int32(outChannels)) : 0]
        case .im2col:
            [inChannels * kernel * kernel * outShape.height * outShape.width, outShape.elements]
        case .phases:
            Array(repeating: images * stride * stride * inChannels * phaseHeight * phaseWidth + 64, count: 2)
        }
    }

    func scratchBytes(images: Int) -> Int { scratchCounts(images: images).map { $0 == 0 ? 0 : max($0, 1) * 4 }.reduce(0, +) }

    func prepare(_ parameters: ParameterStore, isa: Int32) {
        let w = parameters.values.pointer + weight.offset
        let (cout, cin, k) = (Int32(outChannels), Int32(inChannels), Int32(kernel))
        if gemm {
            ck_gemm_conv_pack(w, cout, cin, k, k, 0, gemmWeights!.pointer)
            ck_gemm_conv_pack(w, cout, cin, k, k, 1, gemmTransposedWeights!.pointer)
            return
        }
        switch path {
        case .direct:
            if algorithms.forward > 0 {
                ck_winograd_transform_weights(Int32(algorithms.forward), w, cout, cin, 0, winogradWeights!.pointer)
            } else {
                ck_conv_pack(w, cout, cin, k, k, 0, packedForward.pointer)
            }
            if algorithms.inputGradient > 0 {
                ck_winograd_transform_weights(Int32(algorithms.inputGradient), w, cout, cin, 1,
                                              winogradFlippedWeights!.pointer)
            } else {
                ck_conv_pack(w, cout, cin, k, k, 1, packedBackward.pointer)
            }
        case .phases:
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
        case .im2col: break
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
        let biasPointer = bias.map { UnsafePointer(pass.value($0)) }
        if gemm {
            ck_gemm_conv_forward(pass.isa, x.view(paddedBy: padding), Int32(inChannels), y.view, Int32(outChannels),
                                 Int32(pass.images), Int32(outShape.height), Int32(outShape.width), Int32(kernel),
                                 Int32(kernel), Int32(stride), gemmWeights!.pointer, biasPointer, 0,
                                 statistics ? channelSums.pointer : nil, scratch!.pointer, Int32(GemmBlocking.block))
            return
        }
        if path == .direct && algorithms.forward > 0 {
            winogradForward(pass, input: x.view(paddedBy: padding), output: y.view, bias: biasPointer,
                            sums: statistics ? channelSums.pointer : nil)
            return
        }
        if path == .direct {
            ck_conv_forward(pass.isa, x.view(paddedBy: padding), Int32(inChannels), y.view, Int32(outChannels),
                            Int32(pass.images), Int32(outShape.height), Int32(outShape.width),
                            packedForward.pointer, Int32(kernel), Int32(kernel), biasPointer, 0,
                            statistics ? channelSums.pointer : nil)
            return
        }
        if path == .phases {
            ck_phase_split(x.view(paddedBy: padding), Int32(pass.images), Int32(inChannels), Int32(paddedHeight),
                           Int32(paddedWidth), Int32(stride), phaseInput!.pointer, Int32(phaseHeight),
                           Int32(phaseWidth))
            let active = phases.indices.filter { !phases[$0].isEmpty }
            for (n, q) in active.enumerated() {
                let phase = phases[q]
                ck_conv_forward(pass.isa, phaseView(phaseInput!, q), Int32(inChannels), y.view, Int32(outChannels),
                                Int32(pass.images), Int32(outShape.height), Int32(outShape.width),
                                phase.packedForward.pointer, Int32(phase.height), Int32(phase.width),
                                n == 0 ? biasPointer : nil, n == 0 ? 0 : 1,
                                statistics && n == active.count - 1 ? channelSums.pointer : nil)
            }
            return
        }
        let pixels = outShape.height * outShape.width
        let k = inChannels * kernel * kernel
        let w = pass.value(weight)
        for n in 0 ..< pass.images {
            im2col(x.view.advanced(images: n))
            let outView = y.view.advanced(images: n)
            let dense = outView.plane == pixels && outView.row == outShape.width
            let target = dense ? outView.data! : staging!.pointer
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(outChannels), Int32(pixels), Int32(k),
                        1, w, Int32(k), columns!.pointer, Int32(pixels), 0, target, Int32(pixels))
            if let biasPointer {
                for c in 0 ..< outChannels {
                    let row = target + c * pixels
                    for i in 0 ..< pixels { row[i] += biasPointer[c] }
                }
            }
            if !dense {
                ck_copy(pass.isa, .dense(target, shape: outShape), outView, 0, 1, Int32(outChannels),
                        Int32(outShape.height), Int32(outShape.width))
            }
        }
        if statistics {
            ck_channel_sums(pass.isa, y.view, Int32(pass.images), Int32(outChannels), Int32(outShape.height),
                            Int32(outShape.width), nil, channelSums.pointer)
            // ck_channel_sums without a centre gives Σx and Σx², as the direct epilogue does.
        }
    }

    func backward(_ pass: Pass, needsGradient: [Bool], accumulate: [Bool]) {
        let x = pass.activations[inputs[0]], dy = pass.gradients[output]
        let dw = pass.gradient(weight)
        let dbias = bias.map { pass.gradient($0) }
        if gemm {
            ck_gemm_conv_backward_weights(pass.isa, dy.view, Int32(outChannels), x.view(paddedBy: padding),
                                          Int32(inChannels), Int32(pass.images), Int32(outShape.height),
                                          Int32(outShape.width), Int32(kernel), Int32(kernel), Int32(stride), dw,
                                          scratch!.pointer, Int32(GemmBlocking.block))
            if let dbias {
                ck_conv_backward_bias(dy.view, Int32(outChannels), Int32(pass.images), Int32(outShape.height),
                                      Int32(outShape.width), dbias)
            }
            if needsGradient[0] {
                ck_gemm_conv_backward_input(pass.isa, dy.view, Int32(outChannels), pass.gradients[inputs[0]].view,
                                            Int32(inChannels), Int32(pass.images), Int32(inShape.height),
                                            Int32(inShape.width), Int32(outShape.height), Int32(outShape.width),
                                            Int32(kernel), Int32(kernel), Int32(stride), Int32(padding),
                                            accumulate[0] ? 1 : 0, gemmTransposedWeights!.pointer, scratch!.pointer,
                                            Int32(GemmBlocking.block))
            }
            return
        }
        if path == .direct {
            if algorithms.weightGradient > 0 {
                winogradWeightGradient(pass, outputGradient: dy.view, input: x.view(paddedBy: padding),
                                       weightGradient: dw)
                if let dbias {
                    ck_conv_backward_bias(dy.view, Int32(outChannels), Int32(pass.images), Int32(outShape.height),
                                          Int32(outShape.width), dbias)
                }
            } else {
                ck_conv_backward_weights(pass.isa, dy.view, Int32(outChannels), x.view(paddedBy: padding),
                                         Int32(inChannels), Int32(pass.images), Int32(outShape.height),
                                         Int32(outShape.width), Int32(kernel), Int32(kernel), dw, dbias)
            }
            if needsGradient[0] && algorithms.inputGradient > 0 {
                winogradInputGradient(pass, outputGradient: dy.view(paddedBy: kernel - 1 - padding),
                                      inputGradient: pass.gradients[inputs[0]].view, accumulate: accumulate[0])
            } else if needsGradient[0] {
                let dx = pass.gradients[inputs[0]]
                ck_conv_forward(pass.isa, dy.view(paddedBy: kernel - 1 - padding), Int32(outChannels), dx.view,
                                Int32(inChannels), Int32(pass.images), Int32(inShape.height), Int32(inShape.width),
                                packedBackward.pointer, Int32(kernel), Int32(kernel), nil, accumulate[0] ? 1 : 0, nil)
            }
            return
        }
        if path == .phases {
            var first = true
            for (q, phase) in phases.enumerated() where !phase.isEmpty {
                // dw[co][ci][s·a + b][s·d + c] += Σ dy[co] ⊗ P_bc[ci] shifted by (a, d)
                phase.subGradient.zero()
                ck_conv_backward_weights(pass.isa, dy.view, Int32(outChannels), phaseView(phaseInput!, q),
                                         Int32(inChannels), Int32(pass.images), Int32(outShape.height),
                                         Int32(outShape.width), Int32(phase.height), Int32(phase.width),
                                         phase.subGradient.pointer, first ? dbias : nil)
                first = false
                let sub = phase.subGradient.pointer
                phase.taps.withUnsafeBufferPointer { taps in
                    for pair in 0 ..< outChannels * inChannels {
                        let source = sub + pair * taps.count, target = dw + pair * kernel * kernel
                        for (j, tap) in taps.enumerated() { target[tap] += source[j] }
                    }
                }
            }
            guard needsGradient[0] else { return }
            for (q, phase) in phases.enumerated() where !phase.isEmpty {
                // dP_bc = full convolution of dy with the flipped sub-kernel (dy read from (i − a, j − d)),
                // only over the rows and columns that map back into the input.
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
            ck_phase_merge(phaseGradient!.pointer, Int32(phaseHeight), Int32(phaseWidth), Int32(stride),
                           Int32(padding), pass.gradients[inputs[0]].view, accumulate[0] ? 1 : 0, Int32(pass.images),
                           Int32(inChannels), Int32(inShape.height), Int32(inShape.width))
            return
        }
        let pixels = outShape.height * outShape.width
        let k = inChannels * kernel * kernel
        let w = pass.value(weight)
        for n in 0 ..< pass.images {
            let dyView = dy.view.advanced(images: n)
            precondition(dyView.plane == pixels && dyView.row == outShape.width, "im2col path needs a dense gradient")
            let g = dyView.data!
            im2col(x.view.advanced(images: n))
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(outChannels), Int32(k), Int32(pixels),
                        1, g, Int32(pixels), columns!.pointer, Int32(pixels), 1, dw, Int32(k))
            if let dbias {
                for c in 0 ..< outChannels {
                    var sum: Float = 0
                    for i in 0 ..< pixels { sum += g[c * pixels + i] }
                    dbias[c] += sum
                }
            }
            if needsGradient[0] {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(pixels), Int32(outChannels),
                            1, w, Int32(k), g, Int32(pixels), 0, columns!.pointer, Int32(pixels))
                col2im(pass.gradients[inputs[0]].view.advanced(images: n), accumulate: accumulate[0])
            }
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

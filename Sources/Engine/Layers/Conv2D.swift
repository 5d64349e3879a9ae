import CKernels
import COpenBLAS

/// 2-D convolution, NCHW, any kernel size, stride and padding, with or without bias.
///
/// Stride-1 convolutions whose tensors can carry a zero border run the direct AVX2 kernels:
/// forward  out = conv(in, w)              (input read through its zero border: no copy),
/// backward din = conv(pad(dout), flip(wᵀ)) (the same kernel, weights packed transposed+flipped),
///          dw  = Σ dout ⊗ in               (a reduction kernel).
/// Other shapes (strided, 1×1 next to a matrix product) use im2col and OpenBLAS sgemm per image.
final class Conv2D: Node {
    let name: String
    let inputs: [Int]
    let output: Int
    let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    let inShape: TensorShape, outShape: TensorShape
    let weight: ParameterSpec
    let bias: ParameterSpec?

    /// Set by the planner.
    var direct = false
    /// Set by the planner when a batch norm takes its statistics from this convolution's epilogue:
    /// after a training forward pass `channelSums` holds Σx and Σx² of each output channel.
    var computesStatistics = false
    let channelSums: DoubleBuffer

    private var packedForward: FloatBuffer
    private var packedBackward: FloatBuffer
    private var columns: FloatBuffer?
    private var staging: FloatBuffer?

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
        packedForward = FloatBuffer(count: ck_conv_packed_count(Int32(outChannels), Int32(inChannels), Int32(kernel)))
        packedBackward = FloatBuffer(count: ck_conv_packed_count(Int32(inChannels), Int32(outChannels), Int32(kernel)))
    }

    var flopsPerSample: Int {
        2 * outChannels * inChannels * kernel * kernel * outShape.height * outShape.width
    }

    func allocate(images: Int) {
        if !direct {
            columns = FloatBuffer(count: inChannels * kernel * kernel * outShape.height * outShape.width)
            staging = FloatBuffer(count: outShape.elements)
        }
    }

    func prepare(_ parameters: ParameterStore, isa: Int32) {
        guard direct else { return }
        let w = parameters.values.pointer + weight.offset
        ck_conv_pack(w, Int32(outChannels), Int32(inChannels), Int32(kernel), 0, packedForward.pointer)
        ck_conv_pack(w, Int32(outChannels), Int32(inChannels), Int32(kernel), 1, packedBackward.pointer)
    }

    func forward(_ pass: Pass) {
        let x = pass.activations[inputs[0]], y = pass.activations[output]
        let statistics = pass.training && computesStatistics
        if statistics { channelSums.zero() }
        let biasPointer = bias.map { UnsafePointer(pass.value($0)) }
        if direct {
            ck_conv_forward(pass.isa, x.view(paddedBy: padding), Int32(inChannels), y.view, Int32(outChannels),
                            Int32(pass.images), Int32(outShape.height), Int32(outShape.width),
                            packedForward.pointer, Int32(kernel), biasPointer, 0,
                            statistics ? channelSums.pointer : nil)
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
        if direct {
            ck_conv_backward_weights(pass.isa, dy.view, Int32(outChannels), x.view(paddedBy: padding),
                                     Int32(inChannels), Int32(pass.images), Int32(outShape.height),
                                     Int32(outShape.width), Int32(kernel), dw, dbias)
            if needsGradient[0] {
                let dx = pass.gradients[inputs[0]]
                ck_conv_forward(pass.isa, dy.view(paddedBy: kernel - 1 - padding), Int32(outChannels), dx.view,
                                Int32(inChannels), Int32(pass.images), Int32(inShape.height), Int32(inShape.width),
                                packedBackward.pointer, Int32(kernel), nil, accumulate[0] ? 1 : 0, nil)
            }
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

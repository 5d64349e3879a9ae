import CKernels

/// Batch normalisation over channels (conv features C×H×W, or dense features C×1×1), optionally
/// followed by a residual addition and a ReLU: y = relu(γ·(x − μ)/σ + β + residual).
///
/// Ghost batch norm: in training the statistics are those of the images of one pass, and the
/// network runs one pass per ghost batch of G images, so G = the whole batch is ordinary batch
/// norm (the "reshape to (groups, G, C, H, W)" of the design notes, done by the caller's loop).
/// Running statistics follow PyTorch: r ← (1 − m)·r + m·batch, with the unbiased variance.
/// Evaluation normalises with the running statistics.
final class BatchNorm: Node {
    let name: String
    let inputs: [Int]
    let output: Int
    let shape: TensorShape
    let relu: Bool
    let hasResidual: Bool
    let momentum: Float
    let epsilon: Float
    let scaleParameter: ParameterSpec
    let shiftParameter: ParameterSpec
    var parameterSpecs: [ParameterSpec] { [scaleParameter, shiftParameter] }
    let runningMean: StatisticSpec
    let runningVariance: StatisticSpec

    /// The convolution whose epilogue computed Σx and Σx² of this layer's input (handed over by the
    /// network from `GraphPlan.fusedStatistics`).
    weak var statisticsSource: Conv2D?

    // Per-pass values, saved by forward for backward.
    private let mean: FloatBuffer, inverseStd: FloatBuffer
    private let scale: FloatBuffer, shift: FloatBuffer
    private let coefficientA: FloatBuffer, coefficientB: FloatBuffer, coefficientD: FloatBuffer
    private let sums: DoubleBuffer, center: DoubleBuffer

    init(name: String, input: Int, residual: Int?, output: Int, shape: TensorShape, relu: Bool,
         momentum: Float = 0.1, epsilon: Float = 1e-5, parameters: inout ParameterTableBuilder) {
        self.name = name
        self.inputs = residual.map { [input, $0] } ?? [input]
        self.output = output
        self.shape = shape
        self.relu = relu
        self.hasResidual = residual != nil
        self.momentum = momentum
        self.epsilon = epsilon
        let c = shape.channels
        scaleParameter = parameters.declare("\(name).weight", shape: [c], role: .scale, decays: false,
                                            initializer: .constant(1))
        shiftParameter = parameters.declare("\(name).bias", shape: [c], role: .shift, decays: false,
                                            initializer: .constant(0))
        runningMean = parameters.statistic("\(name).running_mean", count: c, initial: 0)
        runningVariance = parameters.statistic("\(name).running_var", count: c, initial: 1)
        (mean, inverseStd) = (FloatBuffer(count: c), FloatBuffer(count: c))
        (scale, shift) = (FloatBuffer(count: c), FloatBuffer(count: c))
        (coefficientA, coefficientB, coefficientD) = (FloatBuffer(count: c), FloatBuffer(count: c), FloatBuffer(count: c))
        sums = DoubleBuffer(count: 2 * c)
        center = DoubleBuffer(count: c)
    }

    var flopsPerSample: Int { 0 }

    private var dims: (Int32, Int32, Int32) { (Int32(shape.channels), Int32(shape.height), Int32(shape.width)) }

    func forward(_ pass: Pass) {
        let x = pass.activations[inputs[0]], y = pass.activations[output]
        let channels = shape.channels
        let (c, h, w) = dims
        let images = Int32(pass.images)
        let gamma = pass.value(scaleParameter), beta = pass.value(shiftParameter)
        if pass.training {
            let count = Double(pass.images * shape.height * shape.width)
            var needsCenteredPass = true
            if let source = statisticsSource {
                // Σx and Σx² from the convolution: accept unless cancellation could cost precision.
                needsCenteredPass = false
                for i in 0 ..< channels {
                    let m = source.channelSums.pointer[i] / count
                    let variance = source.channelSums.pointer[channels + i] / count - m * m
                    center.pointer[i] = m
                    sums.pointer[channels + i] = variance * count
                    if !(variance > 1e-3 * m * m) { needsCenteredPass = true }
                }
            } else {
                sums.zero()
                ck_channel_sums(pass.isa, x.view, images, c, h, w, nil, sums.pointer)
                for i in 0 ..< channels { center.pointer[i] = sums.pointer[i] / count }
            }
            if needsCenteredPass {
                sums.zero()
                ck_channel_sums(pass.isa, x.view, images, c, h, w, center.pointer, sums.pointer)
                // sums[c + i] is now Σ(x − μ)² exactly (two-pass).
            }
            let runMean = pass.statistic(runningMean), runVariance = pass.statistic(runningVariance)
            let unbias = count > 1 ? count / (count - 1) : 1
            for i in 0 ..< channels {
                let variance = max(sums.pointer[channels + i] / count, 0)
                mean[i] = Float(center.pointer[i])
                inverseStd[i] = Float(1 / (variance + Double(epsilon)).squareRoot())
                runMean[i] = (1 - momentum) * runMean[i] + momentum * mean[i]
                runVariance[i] = (1 - momentum) * runVariance[i] + momentum * Float(variance * unbias)
            }
        } else {
            let runMean = pass.statistic(runningMean), runVariance = pass.statistic(runningVariance)
            for i in 0 ..< channels {
                mean[i] = runMean[i]
                inverseStd[i] = 1 / (runVariance[i] + epsilon).squareRoot()
            }
        }
        for i in 0 ..< channels {
            scale[i] = gamma[i] * inverseStd[i]
            shift[i] = beta[i] - mean[i] * scale[i]
        }
        let residual = hasResidual ? pass.activations[inputs[1]].view : .none
        ck_affine_apply(pass.isa, x.view, residual, y.view, images, c, h, w, scale.pointer, shift.pointer, relu ? 1 : 0)
    }

    /// A group of channels at a time: the sums over the group's values in all images of the pass,
    /// the coefficients, then dx (and the residual's gradient) of the group. The tensors the group
    /// reads (dy, x, and y for a residual layer's mask; images · group · H · W floats each: 256 kB
    /// for 64 images) are still in the L2 cache when the second pass reads them again, where a pass
    /// over all channels for the sums and another for dx read every tensor twice from memory. A
    /// group spans about 4 kB of each image's channels (one 32×32 plane, four of 16×16, sixteen of
    /// 8×8): one channel of small planes alone is 64 scattered pieces of 256 bytes, each a cache
    /// miss (groups against single channels, `bench/kernel_ab/run.sh batchnorm`: docs/PERFORMANCE.md,
    /// section "Second pass: what the profile showed next"). The same sums and products as two
    /// whole passes, so the same bits.
    func backward(_ pass: Pass, needsGradient: [Bool], accumulate: [Bool]) {
        let x = pass.activations[inputs[0]], y = pass.activations[output], dy = pass.gradients[output]
        let channels = shape.channels
        let (_, h, w) = dims
        let images = Int32(pass.images)
        let elements = Float(pass.images * shape.height * shape.width)
        // Without a residual, the ReLU's mask is recomputed from x (x·scale + shift > 0, the same
        // expression as the forward's) instead of read from y: one tensor fewer in both passes.
        let maskFromInput = relu && !hasResidual
        let outputView = relu && !maskFromInput ? y.view : .none
        let maskScale = maskFromInput ? UnsafePointer(scale.pointer) : nil
        let maskShift = maskFromInput ? UnsafePointer(shift.pointer) : nil
        let gamma = pass.value(scaleParameter)
        let dgamma = pass.gradient(scaleParameter), dbeta = pass.gradient(shiftParameter)
        let dx = needsGradient[0] ? pass.gradients[inputs[0]].view : .none
        let residualWanted = hasResidual && needsGradient[1]
        let dresidual = residualWanted ? pass.gradients[inputs[1]].view : .none
        precondition(dx.data != nil, "\(name): the input of a batch norm always needs its gradient")
        let group = Self.channelGroup(channels: channels, planeFloats: shape.height * shape.width)
        let channelSums = sums.pointer
        for first in stride(from: 0, to: channels, by: group) {
            let members = min(group, channels - first)
            for i in 0 ..< 2 * members { channelSums[i] = 0 }
            ck_bn_backward_sums(pass.isa, dy.view.advanced(channels: first), outputView.advanced(channels: first),
                                x.view.advanced(channels: first), images, Int32(members), h, w, mean.pointer + first,
                                maskScale.map { $0 + first }, maskShift.map { $0 + first }, channelSums)
            for j in 0 ..< members {
                let i = first + j
                let sumG = Float(channelSums[j]), sumGX = Float(channelSums[members + j])
                let s = inverseStd[i]
                dgamma[i] += sumGX * s
                dbeta[i] += sumG
                // dx = γσ⁻¹·(g − Σg/n − x̂·Σg·x̂/n), with x̂ = (x − μ)σ⁻¹, written as a·g + b·(x − μ) + d.
                coefficientA[i] = gamma[i] * s
                coefficientB[i] = -gamma[i] * s * s * s * sumGX / elements
                coefficientD[i] = -gamma[i] * s * sumG / elements
            }
            ck_bn_backward_apply(pass.isa, dy.view.advanced(channels: first), outputView.advanced(channels: first),
                                 x.view.advanced(channels: first), dx.advanced(channels: first),
                                 accumulate[0] ? 1 : 0, dresidual.advanced(channels: first),
                                 residualWanted && accumulate[1] ? 1 : 0, images, Int32(members), h, w,
                                 mean.pointer + first, coefficientA.pointer + first, coefficientB.pointer + first,
                                 coefficientD.pointer + first, maskScale.map { $0 + first }, maskShift.map { $0 + first })
        }
    }

    /// Channels per group of the backward pass: as many planes as make 4 kB (1024 floats), at least one.
    static func channelGroup(channels: Int, planeFloats: Int) -> Int {
        max(1, min(channels, 1024 / max(planeFloats, 1)))
    }
}

/// Stochastic gradient descent with momentum over the flat parameter buffer, in PyTorch's
/// formulation (torch.optim.SGD, dampening 0):
///
///     g ← s·c·∇ + λ·p            (λ only where the parameter table says decay applies)
///     v ← μ·v + g                 (v starts at 0, so the first step has v = g, as in PyTorch)
///     p ← p − η·(g + μ·v)         with Nesterov,   p ← p − η·v   without,
///
/// where s scales the summed gradient to a mean (1/(M·B)) and c clips the global L2 norm of s·∇
/// to `clipNorm` (torch.nn.utils.clip_grad_norm_: c = min(1, clip/(‖s∇‖ + 1e-6))).
public final class SGD {
    public struct Hyperparameters: Sendable, Equatable {
        public var learningRate: Float
        public var momentum: Float
        public var weightDecay: Float
        public var nesterov: Bool
        /// Clip the global gradient L2 norm to this value (nil: no clipping).
        public var clipNorm: Float?

        public init(learningRate: Float, momentum: Float = 0.9, weightDecay: Float = 0, nesterov: Bool = false,
                    clipNorm: Float? = nil) {
            self.learningRate = learningRate
            self.momentum = momentum
            self.weightDecay = weightDecay
            self.nesterov = nesterov
            self.clipNorm = clipNorm
        }
    }

    /// The momentum buffer, same layout as the parameters (saved in checkpoints).
    public let velocity: FloatBuffer
    /// The flat buffer as consecutive ranges, each with whether weight decay applies.
    private let segments: [(range: Range<Int>, decays: Bool)]

    public init(parameters: ParameterStore) {
        velocity = FloatBuffer(count: parameters.count)
        var segments: [(Range<Int>, Bool)] = []
        for spec in parameters.table {
            if let last = segments.last, last.1 == spec.decays, last.0.upperBound == spec.offset {
                segments[segments.count - 1].0 = last.0.lowerBound ..< spec.range.upperBound
            } else {
                segments.append((spec.range, spec.decays))
            }
        }
        self.segments = segments
    }

    /// The L2 norm of `scale`·gradients.
    public static func gradientNorm(_ parameters: ParameterStore, scale: Float) -> Float {
        let g = parameters.gradients.pointer
        var sum: Float = 0
        var total = 0.0
        for i in 0 ..< parameters.count {
            sum += g[i] * g[i]
            if i & 4095 == 4095 { total += Double(sum); sum = 0 }
        }
        total += Double(sum)
        return Float(total.squareRoot()) * abs(scale)
    }

    /// One update; returns the gradient norm ‖s·∇‖ before clipping.
    @discardableResult
    public func step(_ parameters: ParameterStore, _ h: Hyperparameters, gradientScale: Float) -> Float {
        let norm = Self.gradientNorm(parameters, scale: gradientScale)
        var factor = gradientScale
        if let clip = h.clipNorm, norm > clip { factor *= clip / (norm + 1e-6) }
        let p = parameters.values.pointer, g = parameters.gradients.pointer, v = velocity.pointer
        let (lr, mu) = (h.learningRate, h.momentum)
        for segment in segments {
            let decay = segment.decays ? h.weightDecay : 0
            for i in segment.range {
                let d = factor * g[i] + decay * p[i]
                let m = mu * v[i] + d
                v[i] = m
                p[i] -= lr * (h.nesterov ? d + mu * m : m)
            }
        }
        return norm
    }
}

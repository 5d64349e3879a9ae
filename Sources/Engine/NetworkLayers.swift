/// The network as a list of operations on activation slots, as evaluation runs it: what an exporter
/// needs to write the same model in another format (ONNX) without seeing the layers' internals.
///
/// Slot 0 is the input batch (NCHW, `inputShape`); each layer reads its `inputs` slots and writes
/// its `output` slot; `Network.logitsSlot` holds the logits. Parameters and running statistics are
/// named by their places in the flat buffers (`ParameterStore`).
public struct LayerDescription: Sendable {
    public enum Operation: Sendable {
        /// Cross-correlation over NCHW with square kernels, zero padding on every side.
        case convolution(weight: ParameterSpec, bias: ParameterSpec?, kernel: Int, stride: Int, padding: Int)
        /// Evaluation-mode batch norm with the running statistics, y = γ·(x − μ)/√(σ² + ε) + β,
        /// then + the second input when `residual`, then ReLU when `relu`.
        case batchNorm(scale: ParameterSpec, shift: ParameterSpec, mean: StatisticSpec, variance: StatisticSpec,
                       epsilon: Float, residual: Bool, relu: Bool)
        case relu
        /// inputs[0] + inputs[1], then ReLU when `relu`.
        case add(relu: Bool)
        /// Padded positions never win.
        case maxPool(kernel: Int, stride: Int, padding: Int)
        /// Padded positions count as zeros (the divisor is always kernel²).
        case averagePool(kernel: Int, stride: Int, padding: Int)
        /// The mean of each channel's plane: C×H×W → C×1×1.
        case globalAveragePool
        /// y = x·Wᵀ + b over the flattened sample; W is [out, in].
        case linear(weight: ParameterSpec, bias: ParameterSpec)
        /// The identity in evaluation.
        case dropout
        /// Every `stride`-th row and column from the first, and `before` zero channels ahead of the
        /// input's, `after` behind them (He et al.'s option-A shortcut).
        case zeroPadShortcut(stride: Int, before: Int, after: Int)
    }

    public let name: String
    public let inputs: [Int]
    public let output: Int
    public let operation: Operation
}

extension Network {
    /// The layers in the order evaluation runs them.
    public var layers: [LayerDescription] {
        nodes.map { node in
            LayerDescription(name: node.name, inputs: node.inputs, output: node.output, operation: Self.operation(of: node))
        }
    }

    /// The slot that holds the logits.
    public var logitsSlot: Int { outputSlot }

    /// The shape of one sample in `slot`.
    public func shape(ofSlot slot: Int) -> TensorShape { activations[slot].shape }

    private static func operation(of node: Node) -> LayerDescription.Operation {
        switch node {
        case let conv as Conv2D:
            return .convolution(weight: conv.weight, bias: conv.bias, kernel: conv.kernel, stride: conv.stride,
                                padding: conv.padding)
        case let norm as BatchNorm:
            return .batchNorm(scale: norm.scaleParameter, shift: norm.shiftParameter, mean: norm.runningMean,
                              variance: norm.runningVariance, epsilon: norm.epsilon, residual: norm.hasResidual,
                              relu: norm.relu)
        case is ReLU: return .relu
        case let add as Add: return .add(relu: add.relu)
        case let pool as Pool2D:
            return pool.kind == .max ? .maxPool(kernel: pool.kernel, stride: pool.stride, padding: pool.padding)
                : .averagePool(kernel: pool.kernel, stride: pool.stride, padding: pool.padding)
        case is GlobalAvgPool: return .globalAveragePool
        case let linear as Linear: return .linear(weight: linear.weight, bias: linear.bias)
        case is Dropout: return .dropout
        case let shortcut as ZeroPadShortcut:
            return .zeroPadShortcut(stride: shortcut.stride, before: shortcut.before,
                                    after: shortcut.outShape.channels - shortcut.inShape.channels - shortcut.before)
        default:
            preconditionFailure("layer \(node.name) of kind \(type(of: node)) has no description")
        }
    }
}

extension Network {
    /// The logits of `count` dense NCHW images in evaluation mode (running batch-norm statistics,
    /// no dropout), `chunk` images per forward pass, written to `logits` (`count × classes`).
    public func logits(images: UnsafePointer<Float>, count: Int, chunk: Int, into logits: UnsafeMutablePointer<Float>) {
        evaluationPasses(images: images, count: count, chunk: chunk) { first, rows, values in
            (logits + first * classes).update(from: values, count: rows * classes)
        }
    }
}

import CKernels
import Formatting

/// A network ready to train: its nodes, its parameters in one flat buffer, and activation memory
/// for one ghost batch.
///
/// `trainStep` runs a batch one ghost batch at a time — forward, loss, backward — summing the
/// parameter gradients. Batch-norm statistics are per ghost batch, so this is mathematically the
/// whole batch with ghost batch norm, while activation memory follows G, not the batch size.
public final class Network {
    public let name: String
    public let inputShape: TensorShape
    public let classes: Int
    public let parameters: ParameterStore
    public var instructionSet: InstructionSet = .best { didSet { planConvolutions() } }
    /// Which kernels the convolutions may use (see `ConvolutionPolicy`, `ConvolutionPlanner`).
    public var convolutionPolicy: ConvolutionPolicy = .auto { didSet { planConvolutions() } }

    let nodes: [Node]
    let plan: GraphPlan
    /// Every convolution, with what the planner knows of it, in network order.
    let convolutions: [(node: Conv2D, layer: ConvolutionPlanner.Layer)]
    /// The scratch the convolutions share (they run one at a time).
    private let convolutionScratch = ScratchArena()
    let activations: [ActivationSlot]
    let gradients: [ActivationSlot]
    let outputSlot: Int
    public private(set) var passCapacity = 0

    /// When true, `trainStep` adds each node's forward and backward seconds to `profile`.
    public var profiling = false
    /// CPU seconds of this thread per node (by name): forward and backward, accumulated while `profiling`.
    public private(set) var profile: [(name: String, kind: String, forward: Double, backward: Double)] = []

    init(name: String, builder: NetworkBuilder, output: Int, seed: UInt64) {
        precondition(builder.shapes[output].elements == builder.shapes[output].channels, "output must be dense features")
        self.name = name
        self.inputShape = builder.shapes[0]
        self.classes = builder.shapes[output].channels
        self.nodes = builder.nodes
        self.outputSlot = output
        self.parameters = builder.parameters.build(seed: seed)
        plan = GraphPlan(nodes: builder.nodes, shapes: builder.shapes, output: output)
        activations = builder.shapes.map { ActivationSlot(shape: $0) }
        gradients = builder.shapes.map { ActivationSlot(shape: $0) }
        for index in activations.indices {
            activations[index].padding = plan.activationPadding[index]
            gradients[index].padding = plan.gradientPadding[index]
        }
        let (nodes, plan) = (builder.nodes, plan)
        for (convolution, norm) in plan.fusedStatistics {
            let source = nodes[convolution] as! Conv2D
            source.computesStatistics = true
            (nodes[norm] as! BatchNorm).statisticsSource = source
        }
        convolutions = nodes.indices.compactMap { index in
            (nodes[index] as? Conv2D).map { ($0, $0.plannerLayer(bordered: plan.bordered[index])) }
        }
        planConvolutions()
    }

    /// Hands every convolution the kernels `ConvolutionPlanner` picks for it under the policy and
    /// instruction set (then the buffers they need, if passes are reserved already).
    private func planConvolutions() {
        for (conv, layer) in convolutions {
            conv.use(ConvolutionPlanner.plan(layer, policy: convolutionPolicy, instructionSet: instructionSet),
                     scratch: convolutionScratch)
            if passCapacity > 0 { conv.allocate(images: passCapacity) }
        }
    }

    /// Each convolution layer's name, shape and kernels (`Conv2D.kernelDescription`), in network order.
    public var convolutionKernels: [(name: String, shape: String, kernels: String)] {
        convolutions.map { conv, _ in
            (conv.name, "\(conv.kernel)×\(conv.kernel)/\(conv.stride) \(conv.inChannels)→\(conv.outChannels) "
                + "\(conv.outShape.height)×\(conv.outShape.width)", conv.kernelDescription)
        }
    }

    /// Each convolution layer: what the planner knows of it, the plan it was handed, and the kernels
    /// its products ran on since (for tests and diagnostics: a layer runs what its plan names).
    public var convolutionPlans: [(name: String, layer: ConvolutionPlanner.Layer, plan: ConvolutionPlan,
                                   ran: ConvolutionKernelsRun)] {
        convolutions.map { conv, layer in (conv.name, layer, conv.kernels, conv.ran) }
    }

    /// Analytic forward FLOPs per sample (convolutions and linear layers; a multiply-add is 2).
    public var flopsPerSample: Int { nodes.map(\.flopsPerSample).reduce(0, +) }

    public var parameterCount: Int { parameters.table.map(\.count).reduce(0, +) }

    /// Per node, in the order `trainStep` runs them forward, the ranges of the flat gradient
    /// buffer its backward writes (empty for nodes without parameters). Backward runs the nodes in
    /// reverse, so the gradients of the last nodes are final first (see `trainStep`'s `gradientsFinal`).
    public var gradientRanges: [[Range<Int>]] { nodes.map { $0.parameterSpecs.map(\.range) } }

    /// The dropout probability of every dropout site (0 disables them; models without a site ignore it).
    public var dropoutRate: Float {
        get { nodes.compactMap { ($0 as? Dropout)?.rate }.first ?? 0 }
        set { for case let node as Dropout in nodes { node.rate = newValue } }
    }

    public var hasDropout: Bool { nodes.contains { $0 is Dropout } }

    /// Bytes of activation and gradient memory currently allocated (memory that several slots'
    /// gradients share, `GraphPlan.gradientStorage`, counted once).
    public var activationBytes: Int {
        activations.map(\.bytes).reduce(0, +)
            + gradients.indices.filter { plan.ownsGradientMemory($0) }.map { gradients[$0].bytes }.reduce(0, +)
    }

    /// Bytes that `reserve(images:)` allocates for passes of `images` images — activations, their
    /// gradients, every layer's scratch and the convolutions' shared scratch — computed without
    /// allocating anything (memory estimates check a run against the machine before it starts).
    public func reservedBytes(images: Int) -> Int {
        var floats = 0
        for (index, slot) in activations.enumerated() {
            floats += slot.floats(images: images)
            if plan.ownsGradientMemory(index) { floats += gradients[index].floats(images: images) }
        }
        let shared = convolutions.map { $0.node.sharedScratchCount() }.max() ?? 0
        return 4 * (floats + shared) + nodes.map { $0.scratchBytes(images: images) }.reduce(0, +)
    }

    /// The memory a training step takes in this process: the parameters with their gradients,
    /// running statistics and momentum; the activations of one ghost batch (`reservedBytes`,
    /// which is linear in the images of a pass); the step's images and labels. In Double, without
    /// allocating anything, so that any request can be estimated and refused.
    public func stepMemory(imagesPerStep: Int, ghostBatchSize: Int) -> MemoryEstimate {
        let one = Double(reservedBytes(images: 1)), two = Double(reservedBytes(images: 2))
        return MemoryEstimate([
            ("parameters, gradients, momentum and statistics", 4 * Double(3 * parameters.count + parameters.statistics.count)),
            ("activations (ghost batch \(ghostBatchSize))", one + (two - one) * Double(ghostBatchSize - 1)),
            ("step images (\(imagesPerStep))", Double(imagesPerStep) * Double(4 * (inputShape.elements + 1))),
        ])
    }

    /// Makes room for passes of `images` images (allocated once, reused by every step).
    public func reserve(images: Int) {
        guard images != passCapacity else { return }
        passCapacity = images
        for (index, slot) in activations.enumerated() {
            slot.allocate(images: images)
            if plan.ownsGradientMemory(index) { gradients[index].allocate(images: images) }
        }
        for (index, owner) in plan.gradientStorage.enumerated() where owner != index {
            gradients[index].share(gradients[owner])   // allocated above: an owner owns its memory
        }
        for node in nodes { node.allocate(images: images) }
    }

    public struct StepResult: Sendable {
        /// Sum over samples of the cross-entropy loss.
        public var lossSum: Double = 0
        /// Samples whose top prediction is their label.
        public var correct = 0
        public var samples = 0
        public var forwardSeconds = 0.0
        public var backwardSeconds = 0.0
    }

    /// Forward and backward over `count` samples in ghost batches of `ghostBatchSize`, leaving the
    /// gradient of the summed loss in `parameters.gradients` (zeroed first unless `accumulate`).
    /// `images` is a dense [count][C][H][W] batch; `count` must be a multiple of the ghost size.
    /// `gradientsFinal(i)` is called once node i's backward has run on the last ghost batch, when
    /// its parameter gradients (`gradientRanges[i]`) will not change any more in this step: a
    /// data-parallel step starts all-reducing them while backward goes on.
    public func trainStep(images: UnsafePointer<Float>, labels: UnsafePointer<Int32>, count: Int,
                          ghostBatchSize: Int, dropout: DropoutKey, accumulate: Bool = false,
                          gradientsFinal: ((Int) -> Void)? = nil) -> StepResult {
        precondition(ghostBatchSize > 0 && count % ghostBatchSize == 0,
                     "batch of \(count) is not a multiple of the ghost batch size \(ghostBatchSize)")
        reserve(images: ghostBatchSize)
        prepareStep()
        if !accumulate { parameters.gradients.zero() }
        var result = StepResult()
        for first in stride(from: 0, to: count, by: ghostBatchSize) {
            var key = dropout
            key.firstRow += first
            let pass = makePass(images: ghostBatchSize, training: true, dropout: key)
            let start = ContinuousClock.now
            load(images + first * inputShape.elements, count: ghostBatchSize)
            if profiling && profile.count != nodes.count {
                profile = nodes.map { ($0.name, "\(type(of: $0))", 0, 0) }
            }
            for (index, node) in nodes.enumerated() {
                let t = profiling ? threadSeconds() : 0
                node.forward(pass)
                if profiling { profile[index].forward += threadSeconds() - t }
            }
            let middle = ContinuousClock.now
            let outcome = SoftmaxCrossEntropy.evaluate(
                logits: activations[outputSlot].interior, labels: labels + first, rows: ghostBatchSize,
                classes: classes, gradient: gradients[outputSlot].interior)
            let lastGhostBatch = first + ghostBatchSize >= count
            for (index, node) in nodes.enumerated().reversed() {
                let t = profiling ? threadSeconds() : 0
                node.backward(pass, needsGradient: node.inputs.map { plan.needsGradient[$0] },
                              accumulate: plan.accumulate[index])
                if profiling { profile[index].backward += threadSeconds() - t }
                if lastGhostBatch { gradientsFinal?(index) }
            }
            let end = ContinuousClock.now
            result.lossSum += outcome.lossSum
            result.correct += outcome.correct
            result.samples += ghostBatchSize
            result.forwardSeconds += (middle - start).seconds
            result.backwardSeconds += (end - middle).seconds
        }
        return result
    }

    /// Forward passes in evaluation mode (running batch-norm statistics, no dropout) over `count`
    /// samples, `chunk` at a time; returns the summed loss and the number correct.
    public func evaluate(images: UnsafePointer<Float>, labels: UnsafePointer<Int32>, count: Int,
                         chunk: Int) -> (lossSum: Double, correct: Int) {
        var lossSum = 0.0
        var correct = 0
        evaluationPasses(images: images, count: count, chunk: chunk) { first, rows, logits in
            let outcome = SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels + first, rows: rows, classes: classes,
                                                       gradient: nil)
            lossSum += outcome.lossSum
            correct += outcome.correct
        }
        return (lossSum, correct)
    }

    /// Runs evaluation-mode forward passes over `count` dense NCHW images, at most `chunk` per pass,
    /// and hands `body` each pass's first image, its number of images and their logits (dense,
    /// `rows × classes`; valid until the next pass).
    func evaluationPasses(images: UnsafePointer<Float>, count: Int, chunk: Int,
                          _ body: (_ first: Int, _ rows: Int, _ logits: UnsafeMutablePointer<Float>) -> Void) {
        precondition(chunk > 0)
        if passCapacity == 0 { reserve(images: min(chunk, max(count, 1))) }
        prepareStep()
        var first = 0
        while first < count {
            let rows = min(passCapacity, count - first)
            let pass = makePass(images: rows, training: false, dropout: DropoutKey(seed: 0, step: 0))
            load(images + first * inputShape.elements, count: rows)
            for node in nodes { node.forward(pass) }
            body(first, rows, activations[outputSlot].interior)
            first += rows
        }
    }

    /// One line per node: its name, kind, output shape and how it runs (for `--help`-style model
    /// summaries and for tests that check which kernels a layer uses).
    public var summary: [(name: String, kind: String, output: TensorShape, detail: String)] {
        nodes.map { node in
            var detail = ""
            if let conv = node as? Conv2D {
                detail = "\(conv.kernel)×\(conv.kernel)/\(conv.stride) pad \(conv.padding), \(conv.kernelDescription)"
                    + (conv.computesStatistics ? ", fused BN statistics" : "")
            } else if let norm = node as? BatchNorm {
                detail = (norm.hasResidual ? "+ residual" : "") + (norm.relu ? " + ReLU" : "")
            }
            return (node.name, "\(type(of: node))", activations[node.output].shape, detail)
        }
    }

    /// One forward pass over `count` images (one ghost batch in training mode, or evaluation mode)
    /// returning every node's output as a dense NCHW array — for tests and for looking inside a
    /// model while debugging. A training-mode pass updates the batch-norm running statistics, as
    /// a training step would.
    public func forwardOutputs(images: UnsafePointer<Float>, count: Int, training: Bool,
                               dropout: DropoutKey = DropoutKey(seed: 0, step: 0))
        -> [(name: String, shape: TensorShape, values: [Float])] {
        reserve(images: count)
        prepareStep()
        let pass = makePass(images: count, training: training, dropout: dropout)
        load(images, count: count)
        var outputs: [(String, TensorShape, [Float])] = []
        for node in nodes {
            node.forward(pass)
            let slot = activations[node.output]
            var values = [Float](repeating: 0, count: count * slot.shape.elements)
            values.withUnsafeMutableBufferPointer { target in
                ck_copy(instructionSet.rawValue, slot.view, .dense(target.baseAddress!, shape: slot.shape), 0,
                        Int32(count), Int32(slot.shape.channels), Int32(slot.shape.height), Int32(slot.shape.width))
            }
            outputs.append((node.name, slot.shape, values))
        }
        return outputs
    }

    public func resetProfile() { profile = [] }

    private func prepareStep() {
        for node in nodes { node.prepare(parameters, isa: instructionSet.rawValue) }
    }

    private func makePass(images: Int, training: Bool, dropout: DropoutKey) -> Pass {
        Pass(images: images, training: training, isa: instructionSet.rawValue, parameters: parameters,
             activations: activations, gradients: gradients, dropout: dropout)
    }

    private func load(_ images: UnsafePointer<Float>, count: Int) {
        let slot = activations[0]
        ck_copy(instructionSet.rawValue, .dense(UnsafeMutablePointer(mutating: images), shape: inputShape), slot.view,
                0, Int32(count), Int32(inputShape.channels), Int32(inputShape.height), Int32(inputShape.width))
    }
}

import CKernels

/// What a node sees during one forward or backward pass over one ghost batch.
final class Pass {
    /// Images in this ghost batch.
    let images: Int
    let training: Bool
    let isa: Int32
    let parameters: ParameterStore
    let activations: [ActivationSlot]
    let gradients: [ActivationSlot]
    /// Dropout randomness: (seed, step) and the global row index of this ghost batch's first image.
    let dropout: DropoutKey

    init(images: Int, training: Bool, isa: Int32, parameters: ParameterStore, activations: [ActivationSlot],
         gradients: [ActivationSlot], dropout: DropoutKey) {
        self.images = images
        self.training = training
        self.isa = isa
        self.parameters = parameters
        self.activations = activations
        self.gradients = gradients
        self.dropout = dropout
    }

    @inline(__always) func value(_ spec: ParameterSpec) -> UnsafeMutablePointer<Float> { parameters.values.pointer + spec.offset }
    @inline(__always) func gradient(_ spec: ParameterSpec) -> UnsafeMutablePointer<Float> { parameters.gradients.pointer + spec.offset }
    @inline(__always) func statistic(_ spec: StatisticSpec) -> UnsafeMutablePointer<Float> { parameters.statistics.pointer + spec.offset }
}

/// Identifies the random dropout masks of one step: a mask element is a pure function of
/// (seed, step, layer, global row, element), so copies of one sample (different rows) get
/// different masks and a resumed run draws the same masks again.
public struct DropoutKey: Sendable, Equatable {
    public var seed: UInt64
    public var step: UInt64
    /// Row (sample) index of the first sample of the batch within the whole effective batch.
    public var firstRow: Int

    public init(seed: UInt64, step: UInt64, firstRow: Int = 0) {
        self.seed = seed
        self.step = step
        self.firstRow = firstRow
    }
}

/// One operation of a network: a forward/backward pair over activation slots.
///
/// `forward` writes the output slot from the input slots. `backward` reads the output's gradient
/// and writes the gradient of each input for which `needsGradient[i]`, overwriting it, or adding
/// into it when `accumulate[i]` (another consumer of that input has written it already), and adds
/// into the parameter gradients.
protocol Node: AnyObject {
    var name: String { get }
    var inputs: [Int] { get }
    var output: Int { get }
    /// Analytic forward FLOPs per sample (a multiply-add counts 2).
    var flopsPerSample: Int { get }
    /// Per-batch scratch memory; called whenever the ghost batch size changes.
    func allocate(images: Int)
    /// Bytes `allocate(images:)` takes (without allocating them), for memory estimates.
    func scratchBytes(images: Int) -> Int
    /// Called once per step before any pass (weights are constant during a step).
    func prepare(_ parameters: ParameterStore, isa: Int32)
    func forward(_ pass: Pass)
    func backward(_ pass: Pass, needsGradient: [Bool], accumulate: [Bool])
    /// The parameters whose gradients this node's `backward` adds to (and no other node does).
    var parameterSpecs: [ParameterSpec] { get }
}

extension Node {
    func allocate(images: Int) {}
    func scratchBytes(images: Int) -> Int { 0 }
    func prepare(_ parameters: ParameterStore, isa: Int32) {}
    var parameterSpecs: [ParameterSpec] { [] }
}

/// Builds a network from operations on slot indices, declaring parameters as it goes.
/// Slot 0 is the input batch.
public final class NetworkBuilder {
    var parameters = ParameterTableBuilder()
    var shapes: [TensorShape]
    var nodes: [Node] = []
    /// Whether `dropout` adds a node. A model trained without dropout is built without its sites:
    /// a site at rate 0 would copy its input forward and its gradient back, and stand between a
    /// convolution and the batch norm that could take its statistics from the convolution's
    /// epilogue.
    public var dropoutSites = true

    public init(input: TensorShape) { shapes = [input] }

    public var input: Int { 0 }

    public func shape(_ slot: Int) -> TensorShape { shapes[slot] }

    func add(_ make: (Int) -> Node, shape: TensorShape) -> Int {
        shapes.append(shape)
        let output = shapes.count - 1
        nodes.append(make(output))
        return output
    }

    /// The name for a node's parameters: "<prefix>.<index>" unique in the network.
    func uniqueName(_ base: String) -> String {
        let used = Set(nodes.map(\.name))
        if !used.contains(base) { return base }
        var i = 1
        while used.contains("\(base)_\(i)") { i += 1 }
        return "\(base)_\(i)"
    }
}

/// The decisions taken once a graph is complete, read from its nodes without changing any of them;
/// `Network.init` hands them to the nodes and the activation slots.
struct GraphPlan {
    var activationPadding: [Int]
    var gradientPadding: [Int]
    var needsGradient: [Bool]
    /// Per node, per input: add into the input's gradient instead of overwriting it.
    var accumulate: [[Bool]]
    /// Per node: for a convolution, whether its input and its output's gradient carry a zero border
    /// (`ConvolutionPlanner.Layer.bordered`); false for every other node.
    var bordered: [Bool]
    /// Batch norms that take their statistics from the epilogue of the convolution before them
    /// (node indices).
    var fusedStatistics: [(convolution: Int, norm: Int)] = []

    init(nodes: [Node], shapes: [TensorShape], output: Int) {
        let slots = shapes.count
        var consumers = [[Node]](repeating: [], count: slots)
        for node in nodes { for input in node.inputs { consumers[input].append(node) } }

        // Slots that must be plain arrays: read by a matrix product (linear layer, loss).
        var dense = [Bool](repeating: false, count: slots)
        dense[output] = true
        for node in nodes where node is Linear { dense[node.inputs[0]] = true }

        // Convolutions read their input with a zero border and their output's gradient with one,
        // wide enough for every kernel the planner may choose under any policy (so that changing
        // the policy of a built network needs no new slots); next to a slot that must be a plain
        // array, a convolution has no borders and runs on im2col.
        activationPadding = [Int](repeating: 0, count: slots)
        gradientPadding = [Int](repeating: 0, count: slots)
        bordered = [Bool](repeating: false, count: nodes.count)
        for (index, node) in nodes.enumerated() {
            guard let conv = node as? Conv2D else { continue }
            bordered[index] = !dense[conv.inputs[0]] && !dense[conv.output] && conv.padding <= conv.kernel - 1
            if bordered[index] {
                activationPadding[conv.inputs[0]] = max(activationPadding[conv.inputs[0]], conv.padding)
                gradientPadding[conv.output] = max(gradientPadding[conv.output], conv.outputGradientBorder)
            }
        }

        // Batch norm straight after a convolution takes its statistics from the convolution's
        // epilogue instead of a separate pass, when nothing else reads the convolution's output.
        for (index, node) in nodes.enumerated() where node is BatchNorm {
            if let source = nodes.firstIndex(where: { $0.output == node.inputs[0] }), nodes[source] is Conv2D,
               consumers[nodes[source].output].count == 1 {
                fusedStatistics.append((source, index))
            }
        }

        needsGradient = [Bool](repeating: true, count: slots)
        needsGradient[0] = false
        var written = [Bool](repeating: false, count: slots)
        accumulate = [[Bool]](repeating: [], count: nodes.count)
        for index in nodes.indices.reversed() {
            accumulate[index] = nodes[index].inputs.map { input in
                defer { written[input] = true }
                return written[input]
            }
        }
    }
}

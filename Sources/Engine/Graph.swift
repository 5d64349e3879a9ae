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

/// The decisions taken once a graph is complete (see `Network.init`).
struct GraphPlan {
    var activationPadding: [Int]
    var gradientPadding: [Int]
    var needsGradient: [Bool]
    /// Per node, per input: add into the input's gradient instead of overwriting it.
    var accumulate: [[Bool]]

    init(nodes: [Node], shapes: [TensorShape], output: Int) {
        let slots = shapes.count
        var consumers = [[Node]](repeating: [], count: slots)
        for node in nodes { for input in node.inputs { consumers[input].append(node) } }

        // Slots that must be plain arrays: read by a matrix product (linear layer, loss).
        var dense = [Bool](repeating: false, count: slots)
        dense[output] = true
        for node in nodes where node is Linear { dense[node.inputs[0]] = true }

        // Direct (stride-1) convolutions read their input with a zero border and their output's
        // gradient with one; anything that needs a plain array takes the im2col path instead.
        activationPadding = [Int](repeating: 0, count: slots)
        gradientPadding = [Int](repeating: 0, count: slots)
        for case let conv as Conv2D in nodes {
            let borders = !dense[conv.inputs[0]] && !dense[conv.output] && conv.padding <= conv.kernel - 1
            conv.path = !borders ? .im2col : conv.stride == 1 ? .direct : .phases
            if conv.path != .im2col {
                activationPadding[conv.inputs[0]] = max(activationPadding[conv.inputs[0]], conv.padding)
                gradientPadding[conv.output] = max(gradientPadding[conv.output], conv.outputGradientPadding)
            }
        }

        // Batch norm straight after a convolution takes its statistics from the convolution's
        // epilogue instead of a separate pass, when nothing else reads the convolution's output.
        for case let norm as BatchNorm in nodes {
            if let conv = nodes.first(where: { $0.output == norm.inputs[0] }) as? Conv2D,
               consumers[conv.output].count == 1 {
                conv.computesStatistics = true
                norm.statisticsSource = conv
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

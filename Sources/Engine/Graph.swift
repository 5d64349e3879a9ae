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
    /// Per slot, the slot whose gradient memory it uses (itself, or a slot of the same shape and
    /// padding whose gradient is dead by the time this one is written: see `shareGradients`).
    var gradientStorage: [Int] = []

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
        gradientStorage = Self.shareGradients(nodes: nodes, shapes: shapes, padding: gradientPadding,
                                              needsGradient: needsGradient, output: output)
        assert(Self.sharingIsSafe(gradientStorage, nodes: nodes, shapes: shapes, padding: gradientPadding),
               "two gradients that are live at once share memory")
    }

    /// Whether a slot's gradient has memory of its own: it needs a gradient, and uses no other slot's.
    func ownsGradientMemory(_ slot: Int) -> Bool { needsGradient[slot] && gradientStorage[slot] == slot }

    /// The invariant of `shareGradients`, derived afresh (debug builds check it for every network
    /// built, the tests' among them): slots that share memory have the same shape and padding, and
    /// the backward steps during which each one's gradient is live do not overlap (from its last
    /// consumer's backward, which writes it first, to its producer's, which reads it last).
    static func sharingIsSafe(_ storage: [Int], nodes: [Node], shapes: [TensorShape], padding: [Int]) -> Bool {
        var producer = [Int?](repeating: nil, count: shapes.count), lastConsumer = producer
        for (index, node) in nodes.enumerated() {
            producer[node.output] = index
            for input in node.inputs { lastConsumer[input] = index }
        }
        // In node indices (backward runs them from the last to the first).
        func live(_ slot: Int) -> ClosedRange<Int>? {
            guard let first = producer[slot], let last = lastConsumer[slot] else { return nil }
            return first ... last
        }
        for slot in storage.indices where storage[slot] != slot {
            let owner = storage[slot]
            guard shapes[slot] == shapes[owner], padding[slot] == padding[owner] else { return false }
            for other in storage.indices where other != slot && storage[other] == owner {
                guard let a = live(slot), let b = live(other), !a.overlaps(b) else { return false }
            }
        }
        return true
    }

    /// Which slots' gradients can live in the same memory. Backward runs the nodes in reverse; a
    /// slot's gradient is first written by the backward of its last consumer and last read by the
    /// backward of its producer, and outside that stretch its memory is free. Going through the
    /// nodes in backward order, a gradient about to be written takes the memory most recently freed
    /// by a gradient of the same shape and padding (the one whose lines are likeliest still in the
    /// cache: a fresh buffer is a step old, and every first write to it read the line from memory
    /// first), and the producer's output gradient is freed once the node's backward has read it.
    /// Only slots of the same geometry share, so a zero border stays zero: every backward writes
    /// the interior only, and overwrites all of it when it is the first writer (as it must already,
    /// since the memory holds the last ghost batch's values). The loss's slot keeps its own.
    static func shareGradients(nodes: [Node], shapes: [TensorShape], padding: [Int], needsGradient: [Bool],
                               output: Int) -> [Int] {
        struct Geometry: Hashable { var shape: TensorShape, padding: Int }
        var storage = Array(shapes.indices)
        var lastConsumer = [Int](repeating: -1, count: shapes.count)
        for (index, node) in nodes.enumerated() { for input in node.inputs { lastConsumer[input] = index } }
        var free: [Geometry: [Int]] = [:]
        func geometry(_ slot: Int) -> Geometry { Geometry(shape: shapes[slot], padding: padding[slot]) }
        func shares(_ slot: Int) -> Bool { slot != output && needsGradient[slot] && lastConsumer[slot] >= 0 }
        for index in nodes.indices.reversed() {
            for (position, input) in nodes[index].inputs.enumerated()
            where shares(input) && lastConsumer[input] == index && !nodes[index].inputs[..<position].contains(input) {
                if let owner = free[geometry(input)]?.popLast() { storage[input] = owner }
            }
            let produced = nodes[index].output
            if shares(produced) { free[geometry(produced), default: []].append(storage[produced]) }
        }
        return storage
    }
}

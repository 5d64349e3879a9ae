import Randomness
#if canImport(Glibc)
import Glibc
#endif

/// One trainable tensor's place in the flat parameter buffer.
public struct ParameterSpec: Sendable, Equatable {
    public enum Role: String, Sendable { case weight, bias, scale, shift }

    public let name: String
    public let shape: [Int]
    public let offset: Int
    public let role: Role
    /// Whether weight decay applies (conv and linear weights; not biases, not batch-norm scale/shift).
    public let decays: Bool

    public var count: Int { shape.reduce(1, *) }
    public var range: Range<Int> { offset ..< offset + count }
}

/// One non-trainable tensor (batch-norm running statistics) in the statistics buffer.
public struct StatisticSpec: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
    public var range: Range<Int> { offset ..< offset + count }
}

/// How a parameter starts.
enum Initializer {
    /// He et al.: normal with std sqrt(2 / fanIn) (conv weights).
    case kaimingNormal(fanIn: Int)
    /// Uniform in ±1/sqrt(fanIn) (PyTorch's default for linear layers and biases).
    case uniform(fanIn: Int)
    case constant(Float)
}

/// All trainable parameters in one contiguous Float buffer, their gradients in a second buffer
/// of the same layout, and batch-norm running statistics in a third (not trained, not decayed,
/// not all-reduced with the gradients). Layers know only offsets into these buffers, so zeroing
/// gradients, the optimizer, the all-reduce and checkpoints are each one loop or one call.
public final class ParameterStore {
    public let table: [ParameterSpec]
    public let statisticsTable: [StatisticSpec]
    public let values: FloatBuffer
    public let gradients: FloatBuffer
    public let statistics: FloatBuffer

    init(table: [ParameterSpec], statisticsTable: [StatisticSpec]) {
        self.table = table
        self.statisticsTable = statisticsTable
        let count = table.last.map { $0.offset + $0.count } ?? 0
        values = FloatBuffer(count: count)
        gradients = FloatBuffer(count: count)
        statistics = FloatBuffer(count: statisticsTable.last.map { $0.offset + $0.count } ?? 0)
    }

    public var count: Int { values.count }

    public subscript(name: String) -> ParameterSpec? { table.first { $0.name == name } }
}

/// Collects parameter and statistic declarations while a model is built.
struct ParameterTableBuilder {
    private(set) var table: [ParameterSpec] = []
    private(set) var initializers: [Initializer] = []
    private(set) var statistics: [StatisticSpec] = []
    private(set) var statisticInitial: [Float] = []
    private var nextOffset = 0
    private var nextStatistic = 0

    /// Declares a parameter, placed right after the previous one.
    mutating func declare(_ name: String, shape: [Int], role: ParameterSpec.Role, decays: Bool,
                          initializer: Initializer) -> ParameterSpec {
        let spec = ParameterSpec(name: name, shape: shape, offset: nextOffset, role: role, decays: decays)
        table.append(spec)
        initializers.append(initializer)
        nextOffset += spec.count
        return spec
    }

    mutating func statistic(_ name: String, count: Int, initial: Float) -> StatisticSpec {
        let spec = StatisticSpec(name: name, shape: [count], offset: nextStatistic)
        statistics.append(spec)
        statisticInitial.append(initial)
        nextStatistic += count
        return spec
    }

    /// Allocates the store and fills it with initial values drawn from the counter-based
    /// generator keyed by (seed, parameter index): the same seed gives the same model everywhere.
    func build(seed: UInt64) -> ParameterStore {
        let store = ParameterStore(table: table, statisticsTable: statistics)
        for (index, spec) in table.enumerated() {
            var rng = CounterRNG(seed: seed, stream: (UInt32(index), 0x1417, 0))
            let values = store.values.pointer + spec.offset
            switch initializers[index] {
            case let .kaimingNormal(fanIn):
                let std = (2.0 / Float(max(fanIn, 1))).squareRoot()
                for i in 0 ..< spec.count { values[i] = std * rng.standardNormal() }
            case let .uniform(fanIn):
                let bound = 1 / Float(max(fanIn, 1)).squareRoot()
                for i in 0 ..< spec.count { values[i] = bound * (2 * rng.uniform() - 1) }
            case let .constant(value):
                for i in 0 ..< spec.count { values[i] = value }
            }
        }
        for (index, spec) in statistics.enumerated() {
            for i in spec.range { store.statistics[i] = statisticInitial[index] }
        }
        return store
    }
}

extension CounterRNG {
    /// A standard normal draw (Box–Muller).
    mutating func standardNormal() -> Float {
        let u1 = max(uniform(), 1e-7)
        let u2 = uniform()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * Float.pi * u2)
    }
}

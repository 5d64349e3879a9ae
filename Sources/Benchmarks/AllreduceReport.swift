import Collectives
import Formatting
import JSON

/// The readable table of `bench allreduce`: one row per size and algorithm, with the ring/MPI
/// bus-bandwidth ratio on the ring's row when both ran.
public struct AllreduceTable {
    public let ranks: Int
    public let algorithms: [AllreduceAlgorithm]
    private var rows: [[AllreduceBenchmark.Result]] = []

    public init(ranks: Int, algorithms: [AllreduceAlgorithm]) {
        self.ranks = ranks
        self.algorithms = algorithms
    }

    public mutating func add(_ results: [AllreduceBenchmark.Result]) { rows.append(results) }

    public func render(verified: Bool) -> String {
        var table = TextTable(header: ["size", "bytes", "algo", "calls", "time/call", "algbw GB/s", "busbw GB/s", "ring/mpi"])
        for results in rows {
            let mpi = results.first { $0.algorithm == .mpi }
            for result in results {
                var ratio = ""
                if result.algorithm == .ring, let mpi, mpi.busBandwidth > 0 {
                    ratio = fixed(result.busBandwidth / mpi.busBandwidth, 2) + "x"
                }
                table.append([ByteSize.format(result.bytes), "\(result.bytes)", result.algorithm.rawValue,
                              "\(result.iterations)", formatSeconds(result.seconds),
                              fixed(result.algorithmBandwidth, 2), fixed(result.busBandwidth, 2), ratio])
            }
        }
        let note = "all-reduce (sum, Float, in place), \(ranks) ranks; time = median over calls of the slowest rank"
            + (verified ? "; results verified" : "")
        return note + "\n" + table.render()
    }
}

extension AllreduceBenchmark.Result {
    public func jsonLine(verified: Bool) -> String {
        JSONLine()
            .add("op", "allreduce").add("algo", algorithm.rawValue).add("ranks", ranks).add("bytes", bytes)
            .add("iterations", iterations).add("seconds", seconds)
            .add("algbw_gbps", algorithmBandwidth).add("busbw_gbps", busBandwidth).add("verified", verified)
            .render()
    }
}

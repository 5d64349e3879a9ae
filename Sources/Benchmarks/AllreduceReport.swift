import Collectives
import Formatting
import JSON

/// The readable table of `bench allreduce`: one row per size and candidate, with the ring/MPI
/// bus-bandwidth ratio on each ring row and, on the `auto` row, its speed relative to the fastest
/// of the other candidates (1.00x: it chose the best).
public struct AllreduceTable {
    public let ranks: Int
    /// Where the ranks run, e.g. "2 ranks on 2 hosts (network)".
    public let layout: String
    /// The ring settings of the transport: ring rows with other settings name theirs.
    public let transportRing: RingSettings
    private var rows: [[AllreduceBenchmark.Result]] = []

    public init(ranks: Int, layout: String, transportRing: RingSettings) {
        self.ranks = ranks
        self.layout = layout
        self.transportRing = transportRing
    }

    public mutating func add(_ results: [AllreduceBenchmark.Result]) { rows.append(results) }

    public func render(verified: Bool) -> String {
        var table = TextTable(header: ["size", "bytes", "algo", "calls", "time/call", "algbw GB/s", "busbw GB/s",
                                       "ring/mpi", "auto/best"])
        for results in rows {
            let mpi = results.first { $0.candidate == .mpi }
            let best = results.filter { $0.candidate != .auto }.map(\.seconds).min()
            for result in results {
                var ringRatio = "", autoRatio = ""
                if case .ring = result.candidate, let mpi, mpi.busBandwidth > 0 {
                    ringRatio = fixed(result.busBandwidth / mpi.busBandwidth, 2) + "x"
                }
                if result.candidate == .auto, let best, result.seconds > 0 {
                    autoRatio = fixed(best / result.seconds, 2) + "x"
                }
                var row = [ByteSize.format(result.bytes), "\(result.bytes)", label(result), "\(result.iterations)",
                           formatSeconds(result.seconds), fixed(result.algorithmBandwidth, 2),
                           fixed(result.busBandwidth, 2), ringRatio, autoRatio]
                while row.last == "" { row.removeLast() }
                table.append(row)
            }
        }
        let note = "all-reduce (sum, Float, in place), \(layout), ring in chunks of "
            + "\(ByteSize.format(transportRing.chunkBytes)) with \(transportRing.depth) in flight; "
            + "time = median over calls of the slowest rank" + (verified ? "; results verified" : "")
        return note + "\n" + table.render()
    }

    /// "ring", "ring 1M×4" (settings other than the transport's), "mpi", "auto:ring".
    private func label(_ result: AllreduceBenchmark.Result) -> String {
        switch result.candidate {
        case let .ring(settings) where settings != transportRing:
            "ring \(ByteSize.format(settings.chunkBytes))x\(settings.depth)"
        case .auto:
            "auto:\(result.chosen?.rawValue ?? "?")"
        default:
            result.candidate.name
        }
    }
}

extension AllreduceBenchmark.Result {
    public func jsonLine(verified: Bool, hosts: Int) -> String {
        var line = JSONLine()
            .add("op", "allreduce").add("algo", candidate.name).add("ranks", ranks).add("hosts", hosts)
            .add("bytes", bytes)
        if case let .ring(settings) = candidate {
            line = line.add("ring_chunk_bytes", settings.chunkBytes).add("ring_depth", settings.depth)
        }
        if let chosen { line = line.add("chose", chosen.rawValue) }
        return line.add("iterations", iterations).add("seconds", seconds)
            .add("algbw_gbps", algorithmBandwidth).add("busbw_gbps", busBandwidth).add("verified", verified)
            .render()
    }
}

import ArgumentParser
import Benchmarks
import Collectives
import Foundation
import SwiftMPI

/// `batchaug-dist bench …`: measurements whose figures go into docs/PERFORMANCE.md.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: collectives, compute and data pipeline.",
        subcommands: [AllreduceBench.self, StepBench.self, AugmentBench.self, ScalingBench.self])
}

struct AllreduceBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Time (and optionally verify) the Float sum all-reduce: the ring and MPI_Allreduce.")

    @Option(help: ArgumentHelp("Buffer sizes in bytes, comma-separated; K, M, G are powers of 1024; multiples of 4.",
                               valueName: "list"),
            transform: Parse.floatBufferSizes)
    var sizes: [Int] = [4 << 10, 64 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20]

    @Option(help: ArgumentHelp("Buffer sizes as numbers of floats, comma-separated (instead of --sizes).",
                               valueName: "list"),
            transform: Parse.counts)
    var counts: [Int]?

    @Option(help: ArgumentHelp("Bytes per message of the ring all-reduce (K, M suffixes).", valueName: "size"),
            transform: { try Parse.floatBufferSizes($0)[0] })
    var ringChunk: Int = RingAllreduce.defaultChunkBytes

    @Option(help: "Timed calls per size and algorithm (default: about 256 MiB of traffic, 10 to 200 calls).")
    var iters: Int?

    @Option(help: "Which all-reduce to run: ring, mpi or both.")
    var algo: AlgorithmChoice = .both

    @Flag(help: "Check every result against a Double reference and bitwise across ranks.")
    var verify = false

    @Flag(help: "One JSON object per line instead of a table.")
    var json = false

    @Option(help: .hidden)
    var debugCorruptRank: Int?

    func validate() throws {
        if let iters, iters < 1 { throw ValidationError("--iters must be at least 1, got \(iters)") }
        if ringChunk < 4 { throw ValidationError("--ring-chunk must be at least 4 bytes, got \(ringChunk)") }
    }

    func run() throws {
        let elementCounts = counts ?? sizes.map { $0 / 4 }
        let algorithms = algo.algorithms
        try runJob { world in
            world.ringChunkBytes = ringChunk
            let benchmark = AllreduceBenchmark(communicator: world, algorithms: algorithms)
            var table = AllreduceTable(ranks: world.size, algorithms: algorithms)
            for count in elementCounts {
                if verify { try benchmark.verify(count: count, corruptingRank: debugCorruptRank) }
                let iterations = iters ?? AllreduceBenchmark.defaultIterations(bytes: count * 4)
                let results = try benchmark.measure(count: count, iterations: iterations)
                guard world.isRoot else { continue }
                if json {
                    for result in results { print(result.jsonLine(verified: verify)) }
                } else {
                    table.add(results)
                }
                fflush(nil)
            }
            if world.isRoot && !json {
                print(table.render(verified: verify))
            }
        }
    }
}

enum AlgorithmChoice: String, ExpressibleByArgument, CaseIterable {
    case ring, mpi, both
    var algorithms: [AllreduceAlgorithm] {
        switch self {
        case .ring: [.ring]
        case .mpi: [.mpi]
        case .both: [.ring, .mpi]
        }
    }
}

import ArgumentParser
import Benchmarks
import Collectives
import Foundation
import SwiftMPI

/// `batchaug-dist bench …`: measurements whose figures go into docs/PERFORMANCE.md.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: collectives, compute and data pipeline.",
        subcommands: [AllreduceBench.self, StepBench.self, AugmentBench.self, ScalingBench.self, PredictBench.self])
}

struct AllreduceBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Time (and optionally verify) the Float sum all-reduce: the ring, MPI_Allreduce and auto.",
        discussion: """
            auto is what training uses with --allreduce auto (train's default: \(trainingDefaults.allreduce)): \
            for each size, the faster of the ring and MPI_Allreduce \
            in a short measurement that every rank agrees on; its row shows what it chose and its speed \
            relative to the fastest other row (auto/best). The ring's settings default to those measured \
            best for the transport (shared memory within one host, the network between hosts); \
            --ring-chunk and --ring-depth time other settings side by side.
            """)

    @Option(help: ArgumentHelp("Buffer sizes in bytes, comma-separated; K, M, G are powers of 1024; multiples of 4.",
                               valueName: "list"),
            transform: Parse.floatBufferSizes)
    var sizes: [Int] = [4 << 10, 64 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20]

    @Option(help: ArgumentHelp("Buffer sizes as numbers of floats, comma-separated (instead of --sizes).",
                               valueName: "list"),
            transform: Parse.counts)
    var counts: [Int]?

    @Option(help: ArgumentHelp("Bytes per message of the ring, comma-separated (K, M suffixes; default: the transport's).",
                               valueName: "list"),
            transform: Parse.floatBufferSizes)
    var ringChunk: [Int]?

    @Option(help: ArgumentHelp("Ring messages in flight per neighbour, comma-separated (default: the transport's).",
                               valueName: "list"),
            transform: Parse.counts)
    var ringDepth: [Int]?

    @Option(help: "Timed calls per size and algorithm (default: about 256 MiB of traffic, 10 to 200 calls).")
    var iters: Int?

    @Option(help: "Which all-reduce to run: ring, mpi, auto, both (ring and mpi) or all (ring, mpi and auto).")
    var algo: AlgorithmChoice = .all

    @Flag(help: "Check every result against a Double reference and bitwise across ranks.")
    var verify = false

    @Flag(help: "One JSON object per line instead of a table.")
    var json = false

    @Option(help: .hidden)
    var debugCorruptRank: Int?

    func validate() throws {
        if let iters, iters < 1 { throw ValidationError("--iters must be at least 1, got \(iters)") }
        if let small = ringChunk?.first(where: { $0 < 4 }) {
            throw ValidationError("--ring-chunk must be at least 4 bytes, got \(small)")
        }
        if let zero = ringDepth?.first(where: { $0 < 1 }) {
            throw ValidationError("--ring-depth must be at least 1, got \(zero)")
        }
        if (ringChunk != nil || ringDepth != nil) && !algo.names.contains("ring") {
            throw ValidationError("--ring-chunk and --ring-depth set the ring's messages: use them with --algo ring, both or all")
        }
    }

    func run() throws {
        let elementCounts = counts ?? sizes.map { $0 / 4 }
        try runJob { world in
            let transportRing = world.ringSettings
            var candidates: [AllreduceBenchmark.Candidate] = []
            for name in algo.names {
                switch name {
                case "ring":
                    for chunk in ringChunk ?? [transportRing.chunkBytes] {
                        for depth in ringDepth ?? [transportRing.depth] {
                            candidates.append(.ring(RingSettings(chunkBytes: chunk, depth: depth)))
                        }
                    }
                case "mpi": candidates.append(.mpi)
                default: candidates.append(.auto)
                }
            }
            let benchmark = AllreduceBenchmark(communicator: world, candidates: candidates, transportRing: transportRing,
                                               configureRing: { world.ringSettings = $0 })
            var table = AllreduceTable(ranks: world.size, layout: world.hosts.summary, transportRing: transportRing)
            for count in elementCounts {
                if verify { try benchmark.verify(count: count, corruptingRank: debugCorruptRank) }
                let iterations = iters ?? AllreduceBenchmark.defaultIterations(bytes: count * 4)
                let results = try benchmark.measure(count: count, iterations: iterations)
                guard world.isRoot else { continue }
                if json {
                    for result in results { print(result.jsonLine(verified: verify, hosts: world.hosts.hostCount)) }
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
    case ring, mpi, auto, both, all
    /// The candidates, in the order their rows appear.
    var names: [String] {
        switch self {
        case .ring, .mpi, .auto: [rawValue]
        case .both: ["ring", "mpi"]
        case .all: ["ring", "mpi", "auto"]
        }
    }
}

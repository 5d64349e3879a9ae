import Foundation
import Testing
import TestSupport

/// `bench allreduce --verify` under real `mpirun`, on odd and even counts, for 1 to 4 ranks.
@Suite("bench allreduce under mpirun", .serialized)
struct AllreduceCLITests {
    static let counts = [0, 1, 2, 3, 5, 1000, (1 << 20) + 3]

    @Test("--verify passes for both algorithms", arguments: [1, 2, 3, 4])
    func verifies(ranks: Int) throws {
        let outcome = try runBatchAugDist(ranks: ranks, [
            "bench", "allreduce", "--algo", "both", "--verify", "--iters", "2", "--json",
            "--counts", Self.counts.map(String.init).joined(separator: ","),
        ])
        #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
        let records = try outcome.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
        }
        // One line per count and algorithm, printed once (by rank 0) however many ranks run.
        #expect(records.count == Self.counts.count * 2, "\(outcome)")
        for record in records {
            #expect(record["op"] as? String == "allreduce")
            #expect(record["ranks"] as? Int == ranks)
            #expect(record["verified"] as? Bool == true)
            #expect(["ring", "mpi"].contains(record["algo"] as? String))
            #expect((record["seconds"] as? Double ?? -1) >= 0)
            #expect(record["busbw_gbps"] is Double)
        }
        #expect(Set(records.compactMap { $0["bytes"] as? Int }) == Set(Self.counts.map { $0 * 4 }))
    }

    @Test("a wrong result on one rank fails every rank, naming the size and algorithm")
    func mismatchIsReported() throws {
        let outcome = try runBatchAugDist(ranks: 3, [
            "bench", "allreduce", "--algo", "ring", "--verify", "--iters", "1", "--counts", "1000",
            "--debug-corrupt-rank", "2",
        ], timeout: 60)
        #expect(outcome.status != 0 && !outcome.timedOut, "\(outcome)")
        #expect(outcome.stderr.contains("algo ring, 1000 floats"), "\(outcome)")
        #expect(outcome.stderr.contains("rank 2"), "\(outcome)")
        #expect(outcome.seconds < 30)
    }

    @Test("the readable table has every algorithm, the ring/mpi ratio and how auto compares with the best")
    func table() throws {
        let outcome = try runBatchAugDist(ranks: 2, ["bench", "allreduce", "--sizes", "4K,64K", "--iters", "3"])
        #expect(outcome.status == 0, "\(outcome)")
        let lines = outcome.stdout.split(separator: "\n")
        let rows = lines.map { $0.split(separator: " ").map(String.init) }
        #expect(lines.contains { $0.contains("busbw GB/s") && $0.contains("ring/mpi") && $0.contains("auto/best") }, "\(outcome)")
        #expect(lines.first?.contains("2 ranks on 1 host (shared memory)") == true, "\(outcome)")
        #expect(rows.filter { $0.first == "64K" && $0[2] == "ring" && $0.last?.hasSuffix("x") == true }.count == 1, "\(outcome)")
        #expect(rows.filter { $0.first == "4K" && $0[2] == "mpi" }.count == 1, "\(outcome)")
        #expect(rows.filter { $0.count > 2 && ["auto:ring", "auto:mpi"].contains($0[2]) && $0.last?.hasSuffix("x") == true }.count == 2,
                "\(outcome)")
    }

    @Test("ring settings side by side: one row per chunk size and depth, named when not the transport's")
    func ringSettings() throws {
        let outcome = try runBatchAugDist(ranks: 2, ["bench", "allreduce", "--algo", "both", "--counts", "100000", "--iters", "2",
                                                     "--ring-chunk", "64K,256K", "--ring-depth", "1,2", "--verify", "--json"])
        #expect(outcome.status == 0, "\(outcome)")
        let records = outcome.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let settings = Set(records.filter { $0["algo"] as? String == "ring" }.map {
            "\($0["ring_chunk_bytes"] as? Int ?? 0)x\($0["ring_depth"] as? Int ?? 0)"
        })
        #expect(settings == ["65536x1", "65536x2", "262144x1", "262144x2"], "\(outcome)")
        let refused = try runBatchAugDist(ranks: nil, ["bench", "allreduce", "--algo", "mpi", "--ring-depth", "2"], timeout: 30)
        #expect(refused.status != 0 && refused.stderr.contains("--ring-depth"), "\(refused)")
    }

    @Test("auto agrees on every rank: at 3 ranks its choice verifies bitwise equal everywhere")
    func autoAgrees() throws {
        let outcome = try runBatchAugDist(ranks: 3, ["bench", "allreduce", "--algo", "auto", "--verify", "--iters", "2",
                                                     "--json", "--counts", "7,300000"])
        #expect(outcome.status == 0, "\(outcome)")
        let records = outcome.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(records.count == 2 && records.allSatisfy { ["ring", "mpi"].contains($0["chose"] as? String) }, "\(outcome)")
    }
}

/// `bench predict` on measurements whose times follow an α–β model exactly.
@Suite("bench predict")
struct PredictCLITests {
    static let alpha = 50e-6, beta = 1 / 100e6

    /// A bench allreduce --json file of exact α–β times at 2 and 3 hosts.
    static func measurements() throws -> URL {
        var lines: [String] = []
        for ranks in [2, 3] {
            for bytes in [4096, 1 << 20, 16 << 20] {
                let n = Double(ranks), size = Double(bytes)
                let ring = 2 * (n - 1) * alpha + 2 * (n - 1) / n * size * beta
                let mpi = ranks == 2 ? alpha + size * beta : 3 * alpha + 3 * size * beta   // recursive doubling: 1 + 2 steps
                lines.append(#"{"op":"allreduce","algo":"ring","ranks":\#(ranks),"hosts":\#(ranks),"bytes":\#(bytes),"ring_chunk_bytes":4194304,"ring_depth":4,"seconds":\#(ring)}"#)
                lines.append(#"{"op":"allreduce","algo":"mpi","ranks":\#(ranks),"hosts":\#(ranks),"bytes":\#(bytes),"seconds":\#(mpi)}"#)
            }
        }
        let file = scratchDirectory("predict").appendingPathExtension("jsonl")
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test("fits α and β, predicts the measurements it was given, and writes the plot")
    func predicts() throws {
        let file = try Self.measurements()
        let svg = scratchDirectory("plot").appendingPathExtension("svg")
        let outcome = try runBatchAugDist(ranks: nil, ["bench", "predict", "--link", "test=\(file.path)", "--models", "mlp",
                                                       "--step-seconds", "mlp=0.1", "--ranks", "1,2,4,1024",
                                                       "--svg", svg.path, "--json"], timeout: 60)
        #expect(outcome.status == 0, "\(outcome)")
        let records = outcome.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let fit = try #require(records.first { $0["type"] as? String == "fit" })
        #expect(abs((fit["ring_alpha_seconds"] as? Double ?? 0) - Self.alpha) < 1e-9, "\(fit)")
        #expect(abs((fit["mpi_beta_seconds_per_byte"] as? Double ?? 0) - Self.beta) < 1e-15, "\(fit)")
        for check in records.filter({ $0["type"] as? String == "check" }) {
            let measured = check["measured_seconds"] as? Double ?? 0, predicted = check["predicted_seconds"] as? Double ?? 0
            #expect(abs(predicted / measured - 1) < 1e-6, "\(check)")   // 3 hosts too: the model is exact here
        }
        let efficiency = records.filter { $0["type"] as? String == "prediction" }.compactMap { $0["efficiency"] as? Double }
        #expect(efficiency.count == 4 && efficiency[0] == 1 && zip(efficiency, efficiency.dropFirst()).allSatisfy { $0 > $1 })
        let plot = try String(contentsOf: svg, encoding: .utf8)
        #expect(plot.hasPrefix("<svg") && plot.contains("<polyline") && plot.contains("mlp, test"))
    }

    @Test("bad input names the option or file")
    func refusals() throws {
        let none = try runBatchAugDist(ranks: nil, ["bench", "predict"], timeout: 30)
        #expect(none.status != 0 && none.stderr.contains("--link"), "\(none)")
        let missing = try runBatchAugDist(ranks: nil, ["bench", "predict", "--link", "x=/nonexistent.jsonl"], timeout: 30)
        #expect(missing.status != 0 && missing.stderr.contains("/nonexistent.jsonl"), "\(missing)")
        let bad = scratchDirectory("bad").appendingPathExtension("jsonl")
        try "not json\n".write(to: bad, atomically: true, encoding: .utf8)
        let garbled = try runBatchAugDist(ranks: nil, ["bench", "predict", "--link", "x=\(bad.path)", "--step-seconds", "mlp=1",
                                                       "--models", "mlp"], timeout: 30)
        #expect(garbled.status != 0 && garbled.stderr.contains("\(bad.path):1"), "\(garbled)")
        let model = try runBatchAugDist(ranks: nil, ["bench", "predict", "--link", "x=\(bad.path)", "--models", "nonet"], timeout: 30)
        #expect(model.status != 0 && model.stderr.contains("--models"), "\(model)")
    }
}

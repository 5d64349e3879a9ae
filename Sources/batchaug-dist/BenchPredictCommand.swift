import ArgumentParser
import Benchmarks
import Engine
import Foundation

/// `batchaug-dist bench predict`: the α–β model of the all-reduces fitted to measured links, and
/// the step efficiency it predicts out to many ranks.
struct PredictBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Fit α–β models of the all-reduces to measured links and predict scaling to many ranks.",
        discussion: """
            Each --link names a kind of link and the output of `bench allreduce --json` runs between hosts \
            on it (one rank per host; the namespace cluster: launch/netns-cluster up --rate RATE). The ring \
            and MPI_Allreduce are fitted at 2 hosts and checked against every measurement (3 and 4 hosts are \
            predictions). The step time of each model comes from --step-seconds or is measured here on one \
            core (bench step). Runs in this process only (no MPI).
            """)

    @Option(name: .customLong("link"), parsing: .singleValue,
            help: ArgumentHelp("NAME=FILE[,FILE…]: a link's name and its bench allreduce --json outputs (repeatable).",
                               valueName: "name=files"))
    var links: [String] = []

    @Option(help: ArgumentHelp("Models, comma-separated.", valueName: "list"))
    var models = "resnet20,wrn16-4"

    @Option(help: "Distinct samples per rank and step.")
    var batchPerRank = 64

    @Option(help: ArgumentHelp("Copies per sample (M), comma-separated.", valueName: "list"), transform: Parse.counts)
    var copies: [Int] = [1]

    @Option(help: ArgumentHelp("Step seconds on one core, as MODEL=SECONDS or MODEL/M=SECONDS, comma-separated (default: measured).",
                               valueName: "list"))
    var stepSeconds: String?

    @Option(help: ArgumentHelp("Rank counts to predict, comma-separated.", valueName: "list"), transform: Parse.counts)
    var ranks: [Int] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]

    @Option(help: ArgumentHelp("Also write the efficiency plot to this SVG file.", valueName: "file"))
    var svg: String?

    @Flag(help: "One JSON object per line instead of the report.")
    var json = false

    func validate() throws {
        guard !links.isEmpty else { throw ValidationError("--link is required: NAME=FILE[,FILE…] from bench allreduce --json") }
        for link in links where !link.contains("=") || link.hasPrefix("=") || link.hasSuffix("=") {
            throw ValidationError("--link '\(link)' must be NAME=FILE[,FILE…]")
        }
        guard batchPerRank >= 1 else { throw ValidationError("--batch-per-rank must be at least 1, got \(batchPerRank)") }
        if let zero = copies.first(where: { $0 < 1 }) { throw ValidationError("--copies must be at least 1, got \(zero)") }
        if let zero = ranks.first(where: { $0 < 1 }) { throw ValidationError("--ranks must be at least 1, got \(zero)") }
        for model in modelList {
            do { _ = try ModelZoo.Architecture(model) } catch { throw ValidationError("--models: \(error)") }
        }
        _ = try givenStepSeconds()
    }

    var modelList: [String] { models.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    /// --step-seconds as "model/M" → seconds ("model" alone means M = 1).
    func givenStepSeconds() throws -> [String: Double] {
        guard let stepSeconds else { return [:] }
        var given: [String: Double] = [:]
        for item in stepSeconds.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let seconds = Double(parts[1]), seconds > 0 else {
                throw ValidationError("--step-seconds '\(item)' must be MODEL=SECONDS or MODEL/M=SECONDS with SECONDS > 0")
            }
            given[parts[0].contains("/") ? parts[0] : parts[0] + "/1"] = seconds
        }
        return given
    }

    func run() throws {
        var measuredLinks: [AllreducePrediction.Link] = []
        for link in links {
            let parts = link.split(separator: "=", maxSplits: 1).map(String.init)
            var records: [AllreduceRecord] = []
            for file in parts[1].split(separator: ",").map(String.init) {
                let text: String
                do {
                    text = try String(contentsOfFile: file, encoding: .utf8)
                } catch {
                    throw InputFailure(description: "--link \(parts[0]): cannot read '\(file)': \(error.localizedDescription)")
                }
                do {
                    records += try AllreduceRecord.parse(text, source: file)
                } catch let error as AllreduceRecord.ParseError {
                    throw InputFailure(description: "--link \(parts[0]): \(error.description)")
                }
            }
            measuredLinks.append(try AllreducePrediction.Link(name: parts[0], records: records))
        }

        let given = try givenStepSeconds()
        var workloads: [ScalingPrediction] = []
        for model in modelList {
            for m in copies {
                let images = batchPerRank * m
                let network = try ModelZoo.make(model, input: TensorShape(channels: 3, height: 32, width: 32), classes: 10, seed: 1)
                var seconds = given["\(model)/\(m)"]
                if seconds == nil {
                    let benchmark = StepBenchmark(model: model, batchSize: images, ghostBatchSize: images,
                                                  input: TensorShape(channels: 3, height: 32, width: 32), classes: 10,
                                                  iterations: 3, warmup: 1)
                    seconds = try benchmark.run().stepSeconds
                }
                workloads.append(ScalingPrediction(model: copies.count > 1 ? "\(model) M=\(m)" : model,
                                                   gradientBytes: network.parameterCount * 4,
                                                   computeSeconds: seconds!, imagesPerRank: images))
            }
        }
        let prediction = AllreducePrediction(links: measuredLinks, workloads: workloads, ranks: ranks)
        print(json ? prediction.jsonLines().joined(separator: "\n") : prediction.report())
        if let svg {
            do {
                try prediction.svg().write(toFile: svg, atomically: true, encoding: .utf8)
            } catch {
                throw InputFailure(description: "--svg: cannot write '\(svg)': \(error.localizedDescription)")
            }
        }
    }
}

/// A file named by an option that cannot be used: printed as one line, without the usage.
struct InputFailure: Error, CustomStringConvertible {
    let description: String
}

import ArgumentParser
import Benchmarks
import Engine
import Formatting

/// `batchaug-dist bench step`: training-step throughput of one model on one core (one rank, one
/// BLAS thread), and its model FLOP utilisation.
struct StepBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Training-step throughput and model FLOP utilisation on one core.",
        discussion: """
            Runs in this process only (no MPI): one rank, one OpenBLAS thread. MFU counts the FLOPs of \
            direct convolutions; Winograd kernels do fewer multiplications for the same result, so MFU \
            can exceed 1.0 with them.
            """)

    @Option(help: "Model: \(ModelZoo.examples.joined(separator: ", ")).")
    var model = "resnet20"

    @Option(help: "Samples per step.")
    var batchSize = 64

    @Option(help: "Samples per batch-norm group (default: the whole batch).")
    var ghostBatchSize: Int?

    @Option(help: "Input channels.")
    var channels = 3

    @Option(help: "Input height and width.")
    var size = 32

    @Option(help: "Number of classes.")
    var classes = 10

    @Option(help: "Timed steps (after two warm-up steps).")
    var iters = 10

    @Option(help: ArgumentHelp(
        "Kernels of the 3×3 stride-1 convolutions: direct, winograd (F(4×4,3×3) everywhere), winograd2 (F(2×2,3×3)) or auto (per layer, the planner's choice); a comma-separated list measures each, steps interleaved in this process.",
        valueName: "path[,path…]"))
    var path = "auto"

    @Flag(help: "Time every node; print the time per kind of node and each convolution's kernels and time.")
    var profile = false

    @Flag(help: "Instead of training steps: time each distinct 3×3 stride-1 convolution shape of the model on the direct kernels, F(2×2,3×3) and F(4×4,3×3) (forward, input gradient, weight gradient over one ghost batch) next to the planner's choice.")
    var calibrate = false

    @Flag(help: "One JSON object instead of the report.")
    var json = false

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let ghostBatchSize {
            guard ghostBatchSize >= 1, batchSize % ghostBatchSize == 0 else {
                throw ValidationError("--ghost-batch-size \(ghostBatchSize) must divide --batch-size \(batchSize)")
            }
        }
        guard channels >= 1 else { throw ValidationError("--channels must be at least 1") }
        guard size >= 4 else { throw ValidationError("--size must be at least 4") }
        guard classes >= 2 else { throw ValidationError("--classes must be at least 2") }
        guard iters >= 1 else { throw ValidationError("--iters must be at least 1") }
        do { _ = try ModelZoo.Architecture(model) } catch { throw ValidationError("--model: \(error)") }
        _ = try policies()
    }

    func policies() throws -> [ConvolutionPolicy] {
        let names = path.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return try names.map { name in
            guard let policy = ConvolutionPolicy(rawValue: name) else {
                throw ValidationError("--path: unknown value '\(name)', expected "
                                      + ConvolutionPolicy.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return policy
        }
    }

    func run() throws {
        if calibrate {
            let images = ghostBatchSize ?? batchSize
            let rows = try CalibrationBenchmark(model: model, input: TensorShape(channels: channels, height: size, width: size),
                                                classes: classes, images: images, repetitions: iters).run()
            print(json ? CalibrationBenchmark.jsonLines(rows).joined(separator: "\n")
                       : CalibrationBenchmark.report(rows, images: images))
            return
        }
        var benchmark = StepBenchmark(model: model, batchSize: batchSize, ghostBatchSize: ghostBatchSize ?? batchSize,
                                      input: TensorShape(channels: channels, height: size, width: size),
                                      classes: classes, iterations: iters)
        benchmark.profiling = profile
        benchmark.policies = try policies()
        let results = try benchmark.runAll()
        for result in results { print(json ? result.jsonLine() : result.report()) }
        if !json, results.count > 1 {
            for result in results.dropFirst() {
                print("--path \(result.convolutionPolicy.rawValue) vs \(results[0].convolutionPolicy.rawValue): "
                      + "\(fixed(result.imagesPerSecond / results[0].imagesPerSecond, 3))× the images/s (interleaved)")
            }
        }
    }
}

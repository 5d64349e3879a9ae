import Collectives
import Engine
import Formatting
import JSON
import Randomness

/// `bench step`: training steps (forward + backward + SGD update) of one model on one core, with
/// the model FLOP utilisation against single-thread sgemm measured in the same process. With
/// several convolution policies, one network per policy (same weights, same data) and their steps
/// interleaved, so that each policy sees the machine in the same state.
public struct StepBenchmark {
    public struct Result: Sendable {
        public var model: String
        public var parameters: Int
        public var batchSize: Int
        public var ghostBatchSize: Int
        public var input: TensorShape
        public var iterations: Int
        /// Median seconds per step, and the forward/backward split of that step.
        public var stepSeconds: Double
        public var forwardSeconds: Double
        public var backwardSeconds: Double
        public var updateSeconds: Double
        public var imagesPerSecond: Double { Double(batchSize) / stepSeconds }
        /// Median CPU seconds of this thread per step: on a shared machine, the work of a step
        /// without the time spent waiting for a core.
        public var cpuSeconds = 0.0
        public var imagesPerCPUSecond: Double { Double(batchSize) / cpuSeconds }
        /// Analytic forward GFLOPs per image; a training step counts 3×.
        public var gflopsPerImage: Double
        public var achievedGFLOPs: Double { 3 * gflopsPerImage * imagesPerSecond }
        public var sgemmGFLOPs: Double
        public var mfu: Double { achievedGFLOPs / sgemmGFLOPs }
        public var peakResidentBytes: Int
        public var activationBytes: Int
        /// The memory of the step as `train` estimates it before it starts (`Network.stepMemory`),
        /// printed beside the measured peak so that the estimate is checked; the peak adds the
        /// process itself (runtime, libraries, the sgemm measurement's matrices).
        public var estimate = MemoryEstimate()
        /// Which kernels the 3×3 stride-1 convolutions were allowed to use.
        public var convolutionPolicy: ConvolutionPolicy = .auto
        /// With several policies: ‖g − g₁‖ / ‖g₁‖ of the first step's gradients against the first
        /// policy's (same weights, same data).
        public var gradientRelativeError: Double?
        /// Every convolution layer: its shape, its kernels and (with profiling) seconds per step.
        public var convolutions: [(name: String, shape: String, kernels: String, forward: Double, backward: Double)] = []
        /// With profiling: seconds per step by kind of node (forward, backward), largest first.
        public var profile: [(kind: String, forward: Double, backward: Double)] = []
        /// With profiling: the nodes that took longest, seconds per step.
        public var slowestNodes: [(name: String, forward: Double, backward: Double)] = []
    }

    public var model: String
    public var batchSize: Int
    public var ghostBatchSize: Int
    public var input: TensorShape
    public var classes: Int
    public var iterations: Int
    public var warmup: Int
    public var profiling = false
    /// One result per policy, measured interleaved in this process.
    public var policies: [ConvolutionPolicy] = [.auto]

    public init(model: String, batchSize: Int, ghostBatchSize: Int, input: TensorShape, classes: Int, iterations: Int,
                warmup: Int = 2) {
        self.model = model
        self.batchSize = batchSize
        self.ghostBatchSize = ghostBatchSize
        self.input = input
        self.classes = classes
        self.iterations = iterations
        self.warmup = warmup
    }

    public func run() throws -> Result { try runAll()[0] }

    /// One result per entry of `policies`, their steps interleaved step by step.
    public func runAll() throws -> [Result] {
        BLAS.useOneThreadPerRank()
        var networks: [Network] = []
        var optimizers: [SGD] = []
        for policy in policies {
            // Without dropout (rate 0, as the PyTorch reference's dropout(p = 0), which returns its input).
            let network = try ModelZoo.make(model, input: input, classes: classes, seed: 1, dropoutSites: false)
            network.convolutionPolicy = policy
            networks.append(network)
            optimizers.append(SGD(parameters: network.parameters))
        }
        let hyper = SGD.Hyperparameters(learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4)
        var rng = CounterRNG(seed: 7, stream: (0, 0, 0))
        let images = (0 ..< batchSize * input.elements).map { _ in rng.uniform() * 2 - 1 }
        let labels = (0 ..< batchSize).map { _ in Int32(rng.below(classes)) }
        var steps = [[(total: Double, forward: Double, backward: Double, update: Double)]](repeating: [],
                                                                                        count: policies.count)
        var cpu = [[Double]](repeating: [], count: policies.count)
        var firstGradients: [[Float]] = []
        for iteration in 0 ..< warmup + iterations {
            for (index, network) in networks.enumerated() {
                if iteration == warmup {
                    network.profiling = profiling
                    network.resetProfile()
                }
                let start = ContinuousClock.now
                let cpuStart = threadSeconds()
                let outcome = images.withUnsafeBufferPointer { x in
                    labels.withUnsafeBufferPointer { y in
                        network.trainStep(images: x.baseAddress!, labels: y.baseAddress!, count: batchSize,
                                          ghostBatchSize: ghostBatchSize,
                                          dropout: DropoutKey(seed: 1, step: UInt64(iteration)))
                    }
                }
                let beforeUpdate = ContinuousClock.now
                if iteration == 0 { firstGradients.append(Array(network.parameters.gradients.buffer)) }
                optimizers[index].step(network.parameters, hyper, gradientScale: 1 / Float(batchSize))
                let end = ContinuousClock.now
                if iteration >= warmup {
                    cpu[index].append(threadSeconds() - cpuStart)
                    steps[index].append(((end - start).seconds, outcome.forwardSeconds, outcome.backwardSeconds,
                                         (end - beforeUpdate).seconds))
                }
            }
        }
        let sgemm = Self.sgemmGFLOPs()
        return networks.indices.map { index in
            var result = result(networks[index], policy: policies[index], steps: steps[index], sgemm: sgemm)
            result.cpuSeconds = median(cpu[index])
            if index > 0 {
                let reference = firstGradients[0]
                let difference = zip(firstGradients[index], reference).map { Double($0 - $1) * Double($0 - $1) }
                result.gradientRelativeError = (difference.reduce(0, +) / reference.map { Double($0) * Double($0) }
                    .reduce(0, +)).squareRoot()
            }
            return result
        }
    }

    private func result(_ network: Network, policy: ConvolutionPolicy,
                        steps: [(total: Double, forward: Double, backward: Double, update: Double)],
                        sgemm: Double) -> Result {
        let ordered = steps.sorted { $0.total < $1.total }
        let middle = ordered[ordered.count / 2]
        var byKind: [String: (Double, Double)] = [:]
        for entry in network.profile {
            let old = byKind[entry.kind] ?? (0, 0)
            byKind[entry.kind] = (old.0 + entry.forward / Double(iterations), old.1 + entry.backward / Double(iterations))
        }
        var result = Result(model: model, parameters: network.parameterCount, batchSize: batchSize,
                      ghostBatchSize: ghostBatchSize, input: input, iterations: iterations,
                      stepSeconds: median(steps.map(\.total)), forwardSeconds: middle.forward,
                      backwardSeconds: middle.backward, updateSeconds: middle.update,
                      gflopsPerImage: Double(network.flopsPerSample) / 1e9,
                      sgemmGFLOPs: sgemm, peakResidentBytes: peakResidentBytes(),
                      activationBytes: network.activationBytes)
        result.convolutionPolicy = policy
        result.estimate = network.stepMemory(imagesPerStep: batchSize, ghostBatchSize: ghostBatchSize)
        let seconds = Dictionary(network.profile.map { ($0.name, ($0.forward, $0.backward)) },
                                 uniquingKeysWith: { first, _ in first })
        result.convolutions = network.convolutionKernels.map { layer in
            let time = seconds[layer.name] ?? (0, 0)
            return (layer.name, layer.shape, layer.kernels, time.0 / Double(iterations), time.1 / Double(iterations))
        }
        result.slowestNodes = network.profile
            .map { ($0.name, $0.forward / Double(iterations), $0.backward / Double(iterations)) }
            .sorted { $0.1 + $0.2 > $1.1 + $1.2 }.prefix(12).map { $0 }
        result.profile = byKind.map { ($0.key, $0.value.0, $0.value.1) }.sorted { $0.forward + $0.backward > $1.forward + $1.backward }
        return result
    }

    /// Single-thread `cblas_sgemm` GFLOP/s on a 1536³ product: the best of five timed calls after a
    /// warm-up (the machine's practical peak for this process).
    public static func sgemmGFLOPs(size n: Int = 1536) -> Double { BLAS.peakGFLOPs(size: n) }
}

extension StepBenchmark.Result {
    public func jsonLine() -> String {
        JSONLine().add("model", model).add("parameters", parameters).add("batch_size", batchSize)
            .add("ghost_batch_size", ghostBatchSize).add("input", input.description).add("iterations", iterations)
            .add("step_seconds", stepSeconds).add("forward_seconds", forwardSeconds)
            .add("backward_seconds", backwardSeconds).add("update_seconds", updateSeconds)
            .add("images_per_second", imagesPerSecond).add("gflops_per_image", gflopsPerImage)
            .add("achieved_gflops", achievedGFLOPs).add("sgemm_gflops", sgemmGFLOPs).add("mfu", mfu)
            .add("peak_rss_bytes", peakResidentBytes).add("activation_bytes", activationBytes)
            .add("estimated_bytes", estimate.total)
            .add("path", convolutionPolicy.rawValue).add("kernels", KernelSet.current.record)
            .add("gradient_relative_error", gradientRelativeError ?? 0).add("cpu_seconds", cpuSeconds)
            .add("images_per_cpu_second", imagesPerCPUSecond).render()
    }

    public func report() -> String {
        """
        model            \(model) (\(parameters) parameters), input \(input), batch \(batchSize), ghost batch \(ghostBatchSize), --path \(convolutionPolicy.rawValue)
        step             \(formatSeconds(stepSeconds)) median of \(iterations) (forward \(formatSeconds(forwardSeconds)), backward \(formatSeconds(backwardSeconds)), update \(formatSeconds(updateSeconds)))
        throughput       \(fixed(imagesPerSecond, 1)) images/s (\(fixed(imagesPerCPUSecond, 1)) per CPU second of the step)
        model FLOPs      \(fixed(gflopsPerImage * 1e3, 2)) MFLOP/image forward, ×3 per training step
        achieved         \(fixed(achievedGFLOPs, 1)) GFLOP/s
        sgemm (1 thread) \(fixed(sgemmGFLOPs, 1)) GFLOP/s
        MFU              \(fixed(mfu, 3))
        memory           peak RSS \(ByteSize.describe(Double(peakResidentBytes))); estimated for the step (what train checks) \(estimate)
        """ + (gradientRelativeError.map { "\ngradient error   \(scientific($0)) (L2, relative to the first --path's, first step; a ReLU unit "
            + "whose input is within rounding of 0 can flip and move this to ~1e-3)" } ?? "")
            + profileTable()
    }

    private func profileTable() -> String {
        guard !profile.isEmpty else { return "" }
        // Per node: CPU seconds of the thread (what the node costs, also on a busy machine).
        var table = TextTable(header: ["node", "forward/step", "backward/step"])
        for entry in profile {
            table.append([entry.kind, formatSeconds(entry.forward), formatSeconds(entry.backward)])
        }
        var nodes = TextTable(header: ["slowest nodes", "forward/step", "backward/step"])
        for entry in slowestNodes {
            nodes.append([entry.name, formatSeconds(entry.forward), formatSeconds(entry.backward)])
        }
        var layers = TextTable(header: ["convolution", "shape", "kernels", "forward/step", "backward/step"])
        for entry in convolutions {
            layers.append([entry.name, entry.shape, entry.kernels, formatSeconds(entry.forward),
                           formatSeconds(entry.backward)])
        }
        return "\n" + table.render() + "\n" + nodes.render() + "\n" + layers.render()
    }
}

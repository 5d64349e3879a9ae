import CKernels
import Formatting

/// Times the three products of one 3×3, stride-1, padding-1 convolution on the direct kernels and
/// on Winograd F(2×2, 3×3) and F(4×4, 3×3), over a pass of `images` images — the measurement that
/// `ConvolutionPlanner`'s rule is calibrated from (`bench step --calibrate`). Training never measures:
/// its kernels follow the fixed rule, so that every run and rank computes the same bits.
public enum ConvolutionCalibration {
    public struct Timing: Sendable {
        /// "direct", "F2" or "F4".
        public var kernel: String
        /// Best seconds of a pass over the images.
        public var forward: Double
        public var inputGradient: Double
        public var weightGradient: Double
        /// Largest difference from the direct kernels' result, relative to that result's largest
        /// magnitude (0 for the direct kernels themselves).
        public var forwardError = 0.0
        public var inputGradientError = 0.0
        public var weightGradientError = 0.0
    }

    /// The distinct (input channels, output channels, height, width) of a network's convolutions
    /// that may run on Winograd kernels (with padding 1), in network order.
    public static func shapes(of network: Network) -> [(inChannels: Int, outChannels: Int, height: Int, width: Int)] {
        var seen: [[Int]] = []
        for (conv, layer) in network.convolutions where layer.admitsWinograd && conv.padding == 1 {
            let shape = [conv.inChannels, conv.outChannels, conv.outShape.height, conv.outShape.width]
            if !seen.contains(shape) { seen.append(shape) }
        }
        return seen.map { ($0[0], $0[1], $0[2], $0[3]) }
    }

    /// The kernel of each product the planner picks under `auto` on `instructionSet` for a 3×3,
    /// stride-1, padding-1 layer with these channels.
    public static func planned(inChannels: Int, outChannels: Int, instructionSet: InstructionSet = .best)
        -> ConvolutionPlan {
        ConvolutionPlanner.plan(ConvolutionPlanner.Layer(inChannels: inChannels, outChannels: outChannels, kernel: 3,
                                                         stride: 1, padding: 1, bordered: true),
                                policy: .auto, instructionSet: instructionSet)
    }

    public static func measure(inChannels cin: Int, outChannels cout: Int, height: Int, width: Int, images: Int,
                               repetitions: Int = 5, instructionSet: InstructionSet = .best) -> [Timing] {
        let isa = instructionSet.rawValue
        let inShape = TensorShape(channels: cin, height: height, width: width)
        let outShape = TensorShape(channels: cout, height: height, width: width)
        let x = ActivationSlot(shape: inShape), dx = ActivationSlot(shape: inShape)
        let y = ActivationSlot(shape: outShape), dy = ActivationSlot(shape: outShape)
        for slot in [x, dx, y, dy] {
            slot.padding = 1
            slot.allocate(images: images)
        }
        // Deterministic values in [-1, 1) (the kernels' speed does not depend on them).
        var state: UInt32 = 12345
        func next() -> Float {
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 8) / Float(1 << 23) - 1
        }
        for slot in [x, dy] {
            let view = slot.view
            for n in 0 ..< images {
                for c in 0 ..< slot.shape.channels {
                    for row in 0 ..< height {
                        let line = view.data! + n * view.image + c * view.plane + row * view.row
                        for column in 0 ..< width { line[column] = next() }
                    }
                }
            }
        }
        let weights = FloatBuffer(count: cout * cin * 9)
        for i in 0 ..< weights.count { weights[i] = next() * 0.2 }
        let gradient = FloatBuffer(count: cout * cin * 9)
        let packedForward = FloatBuffer(count: ck_conv_packed_count(Int32(cout), Int32(cin), 3, 3))
        let packedBackward = FloatBuffer(count: ck_conv_packed_count(Int32(cin), Int32(cout), 3, 3))
        ck_conv_pack(weights.pointer, Int32(cout), Int32(cin), 3, 3, 0, packedForward.pointer)
        ck_conv_pack(weights.pointer, Int32(cout), Int32(cin), 3, 3, 1, packedBackward.pointer)
        let forwardBlock = WinogradBlocking.forwardBlock(inChannels: cin, outChannels: cout)
        let backwardBlock = WinogradBlocking.forwardBlock(inChannels: cout, outChannels: cin)
        let weightBlock = WinogradBlocking.weightBlock(inChannels: cin, outChannels: cout)
        let largestBlock = max(forwardBlock, backwardBlock, weightBlock)
        let scratch = FloatBuffer(count: ck_winograd_scratch_count(4, Int32(cin), Int32(cout), Int32(largestBlock)))
        let transformed = [2, 4].map { m -> (FloatBuffer, FloatBuffer) in
            let u = FloatBuffer(count: ck_winograd_weights_count(Int32(m), Int32(cout), Int32(cin)))
            let flipped = FloatBuffer(count: ck_winograd_weights_count(Int32(m), Int32(cin), Int32(cout)))
            ck_winograd_transform_weights(Int32(m), weights.pointer, Int32(cout), Int32(cin), 0, u.pointer)
            ck_winograd_transform_weights(Int32(m), weights.pointer, Int32(cout), Int32(cin), 1, flipped.pointer)
            return (u, flipped)
        }
        let (n, h, w) = (Int32(images), Int32(height), Int32(width))
        func time(_ body: () -> Void) -> Double {
            let start = ContinuousClock.now
            body()
            return (ContinuousClock.now - start).seconds
        }
        var best = [[Double]](repeating: [.infinity, .infinity, .infinity], count: 3)
        var errors = [[Double]](repeating: [0, 0, 0], count: 3)
        var reference: [[Float]] = []
        func values(_ slot: ActivationSlot) -> [Float] {
            let view = slot.view
            var out: [Float] = []
            out.reserveCapacity(images * slot.shape.elements)
            for n in 0 ..< images {
                for c in 0 ..< slot.shape.channels {
                    for row in 0 ..< height {
                        let line = view.data! + n * view.image + c * view.plane + row * view.row
                        for column in 0 ..< width { out.append(line[column]) }
                    }
                }
            }
            return out
        }
        func relativeError(_ a: [Float], _ b: [Float]) -> Double {
            let scale = b.map { Double(abs($0)) }.max() ?? 0
            return zip(a, b).map { Double(abs($0 - $1)) }.max().map { scale > 0 ? $0 / scale : $0 } ?? 0
        }
        for repetition in 0 ... repetitions {
            for (index, m) in [0, 2, 4].enumerated() {
                let forward = time {
                    if m == 0 {
                        ck_conv_forward(isa, x.view(paddedBy: 1), Int32(cin), y.view, Int32(cout), n, h, w,
                                        packedForward.pointer, 3, 3, nil, 0, nil)
                    } else {
                        ck_winograd_forward(isa, Int32(m), x.view(paddedBy: 1), Int32(cin), y.view, Int32(cout), n, h,
                                            w, transformed[m / 4].0.pointer, nil, 0, nil, scratch.pointer,
                                            Int32(forwardBlock))
                    }
                }
                let inputGradient = time {
                    if m == 0 {
                        ck_conv_forward(isa, dy.view(paddedBy: 1), Int32(cout), dx.view, Int32(cin), n, h, w,
                                        packedBackward.pointer, 3, 3, nil, 0, nil)
                    } else {
                        ck_winograd_forward(isa, Int32(m), dy.view(paddedBy: 1), Int32(cout), dx.view, Int32(cin), n,
                                            h, w, transformed[m / 4].1.pointer, nil, 0, nil, scratch.pointer,
                                            Int32(backwardBlock))
                    }
                }
                gradient.zero()
                let weightGradient = time {
                    if m == 0 {
                        ck_conv_backward_weights(isa, dy.view, Int32(cout), x.view(paddedBy: 1), Int32(cin), n, h, w,
                                                 3, 3, gradient.pointer, nil)
                    } else {
                        ck_winograd_backward_weights(isa, Int32(m), dy.view, Int32(cout), x.view(paddedBy: 1),
                                                     Int32(cin), n, h, w, gradient.pointer, scratch.pointer,
                                                     Int32(weightBlock))
                    }
                }
                if repetition > 0 {   // the first round warms caches and pages
                    best[index] = zip(best[index], [forward, inputGradient, weightGradient]).map { min($0, $1) }
                } else {
                    let results = [values(y), values(dx), Array(gradient.buffer)]
                    if m == 0 { reference = results }
                    errors[index] = zip(results, reference).map { relativeError($0, $1) }
                }
            }
        }
        return (0 ..< 3).map { index in
            Timing(kernel: ["direct", "F2", "F4"][index], forward: best[index][0], inputGradient: best[index][1],
                   weightGradient: best[index][2], forwardError: errors[index][0],
                   inputGradientError: errors[index][1], weightGradientError: errors[index][2])
        }
    }
}

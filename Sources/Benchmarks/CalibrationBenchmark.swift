import Engine
import Formatting
import JSON

/// `bench step --calibrate`: for each distinct 3×3 stride-1 convolution shape of a model, the
/// seconds of its forward pass, input gradient and weight gradient over one ghost batch on the
/// direct kernels, Winograd F(2×2) and F(4×4), and the kernel the planner's fixed rule picks.
public struct CalibrationBenchmark {
    public struct Row: Sendable {
        public var inChannels: Int, outChannels: Int, height: Int, width: Int
        /// "forward", "input gradient" or "weight gradient".
        public var product: String
        /// Seconds by kernel: direct, F2, F4.
        public var seconds: [(kernel: String, seconds: Double)]
        /// Largest difference from the direct result relative to its largest magnitude: F2, F4.
        public var errors: [Double]
        /// The planner's kernel for this product ("direct" or "F4").
        public var planned: String
        public var fastest: String { seconds.min { $0.seconds < $1.seconds }!.kernel }
    }

    public var model: String
    public var input: TensorShape
    public var classes: Int
    public var images: Int
    public var repetitions: Int

    public init(model: String, input: TensorShape, classes: Int, images: Int, repetitions: Int) {
        self.model = model
        self.input = input
        self.classes = classes
        self.images = images
        self.repetitions = repetitions
    }

    public func run() throws -> [Row] {
        let network = try ModelZoo.make(model, input: input, classes: classes, seed: 1)
        var rows: [Row] = []
        for shape in ConvolutionCalibration.shapes(of: network) {
            let timings = ConvolutionCalibration.measure(inChannels: shape.inChannels, outChannels: shape.outChannels,
                                                         height: shape.height, width: shape.width, images: images,
                                                         repetitions: repetitions)
            let planned = ConvolutionCalibration.planned(inChannels: shape.inChannels, outChannels: shape.outChannels)
            typealias Field = KeyPath<ConvolutionCalibration.Timing, Double>
            let products: [(String, Field, Field, ConvolutionKernel)] = [
                ("forward", \.forward, \.forwardError, planned.forward),
                ("input gradient", \.inputGradient, \.inputGradientError, planned.inputGradient),
                ("weight gradient", \.weightGradient, \.weightGradientError, planned.weightGradient),
            ]
            for (product, path, error, choice) in products {
                rows.append(Row(inChannels: shape.inChannels, outChannels: shape.outChannels, height: shape.height,
                                width: shape.width, product: product,
                                seconds: timings.map { ($0.kernel, $0[keyPath: path]) },
                                errors: timings.dropFirst().map { $0[keyPath: error] },
                                planned: choice.description))
            }
        }
        return rows
    }

    public static func report(_ rows: [Row], images: Int) -> String {
        var table = TextTable(header: ["shape (\(images) images)", "product", "direct", "F2", "F4", "F4 speed-up",
                                       "fastest", "planner", "F2 error", "F4 error"])
        for row in rows {
            let direct = row.seconds[0].seconds, f4 = row.seconds[2].seconds
            table.append(["\(row.inChannels)→\(row.outChannels) \(row.height)×\(row.width)", row.product]
                         + row.seconds.map { formatSeconds($0.seconds) }
                         + [fixed(direct / f4, 2) + "×", row.fastest, row.planned]
                         + row.errors.map { scientific($0) })
        }
        return table.render()
    }

    public static func jsonLines(_ rows: [Row]) -> [String] {
        rows.map { row in
            var line = JSONLine().add("in_channels", row.inChannels).add("out_channels", row.outChannels)
                .add("height", row.height).add("width", row.width).add("product", row.product)
            for entry in row.seconds { line = line.add("\(entry.kernel.lowercased())_seconds", entry.seconds) }
            return line.add("fastest", row.fastest).add("planned", row.planned).add("f2_relative_error", row.errors[0])
                .add("f4_relative_error", row.errors[1]).render()
        }
    }
}

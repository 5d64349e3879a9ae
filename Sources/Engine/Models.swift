/// The models selectable by name: `mlp`, `cnn`, `resnetD` (D = 6n+2) and `wrnD-K` (D = 6n+4).
public enum ModelZoo {
    public struct UnknownModel: Error, CustomStringConvertible, Sendable {
        public let name: String
        public var description: String {
            "unknown model '\(name)': expected mlp, cnn, resnetD with D = 6n+2 (resnet8, resnet20, resnet32, "
                + "resnet44, resnet56, resnet110) or wrnD-K with D = 6n+4 (wrn16-4, wrn28-10)"
        }
    }

    /// Names users can pass, for help texts.
    public static let examples = ["mlp", "cnn", "resnet8", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110",
                                  "wrn16-4", "wrn28-10"]

    /// Builds model `name` for inputs of `input` shape and `classes` outputs, parameters drawn
    /// from `seed`.
    /// `dropoutSites: false` builds the model without its dropout sites (for a dropout rate of 0;
    /// the parameters are the same).
    public static func make(_ name: String, input: TensorShape, classes: Int, seed: UInt64,
                            dropoutSites: Bool = true) throws -> Network {
        let builder = NetworkBuilder(input: input)
        builder.dropoutSites = dropoutSites
        let logits: Int
        switch try Architecture(name) {
        case .mlp: logits = mlp(builder, classes: classes)
        case .cnn: logits = cnn(builder, classes: classes)
        case let .resnet(depth): logits = resnet(builder, depth: depth, classes: classes)
        case let .wideResNet(depth, widen): logits = wideResNet(builder, depth: depth, widen: widen, classes: classes)
        }
        return builder.build(name: name, output: logits, seed: seed)
    }

    public enum Architecture: Equatable, Sendable {
        case mlp, cnn
        case resnet(depth: Int)
        case wideResNet(depth: Int, widen: Int)

        public init(_ name: String) throws {
            switch name {
            case "mlp": self = .mlp
            case "cnn": self = .cnn
            default:
                if name.hasPrefix("resnet"), let depth = Int(name.dropFirst(6)), depth >= 8, (depth - 2) % 6 == 0 {
                    self = .resnet(depth: depth)
                } else if name.hasPrefix("wrn"), case let parts = name.dropFirst(3).split(separator: "-"),
                          parts.count == 2, let depth = Int(parts[0]), let widen = Int(parts[1]),
                          depth >= 10, (depth - 4) % 6 == 0, widen >= 1 {
                    self = .wideResNet(depth: depth, widen: widen)
                } else {
                    throw UnknownModel(name: name)
                }
            }
        }
    }

    /// Two hidden layers of 512 with batch norm, ReLU and a dropout site.
    static func mlp(_ b: NetworkBuilder, classes: Int) -> Int {
        var x = b.input
        for i in 1 ... 2 {
            x = b.linear(x, outFeatures: 512, name: "fc\(i)")
            x = b.batchNorm(x, relu: true, name: "bn\(i)")
            x = b.dropout(x, name: "dropout\(i)")
        }
        return b.linear(x, outFeatures: classes, name: "fc3")
    }

    /// A small conv net for quick runs: three 3×3 conv-BN-ReLU stages (32, 64, 128 channels) with
    /// max pooling between, global average pooling, a dropout site and a linear classifier.
    static func cnn(_ b: NetworkBuilder, classes: Int) -> Int {
        var x = b.input
        for (i, width) in [32, 64, 128].enumerated() {
            x = b.conv(x, outChannels: width, kernel: 3, name: "conv\(i + 1)")
            x = b.batchNorm(x, relu: true, name: "bn\(i + 1)")
            if i < 2 && b.shape(x).height >= 2 { x = b.maxPool(x, kernel: 2, name: "pool\(i + 1)") }
        }
        x = b.globalAvgPool(x)
        x = b.dropout(x)
        return b.linear(x, outFeatures: classes, name: "fc")
    }

    /// The CIFAR ResNets of He et al. 2016 (§4.2): a 3×3 conv of 16 channels, three stages of n
    /// basic blocks (16, 32, 64 channels, the last two starting with stride 2), identity shortcuts,
    /// zero-padding shortcuts where the shape changes (option A), global average pooling, linear.
    static func resnet(_ b: NetworkBuilder, depth: Int, classes: Int) -> Int {
        let blocks = (depth - 2) / 6
        var x = b.conv(b.input, outChannels: 16, kernel: 3, name: "conv1")
        x = b.batchNorm(x, relu: true, name: "bn1")
        for (stage, width) in [16, 32, 64].enumerated() {
            for block in 0 ..< blocks {
                let stride = stage > 0 && block == 0 ? 2 : 1
                let prefix = "layer\(stage + 1).\(block)"
                var shortcut = x
                if stride != 1 || b.shape(x).channels != width {
                    shortcut = b.zeroPadShortcut(x, outChannels: width, stride: stride, name: "\(prefix).shortcut")
                }
                var h = b.conv(x, outChannels: width, kernel: 3, stride: stride, name: "\(prefix).conv1")
                h = b.batchNorm(h, relu: true, name: "\(prefix).bn1")
                h = b.conv(h, outChannels: width, kernel: 3, name: "\(prefix).conv2")
                x = b.batchNorm(h, residual: shortcut, relu: true, name: "\(prefix).bn2")
            }
        }
        x = b.globalAvgPool(x)
        return b.linear(x, outFeatures: classes, name: "fc")
    }

    /// Wide ResNets (Zagoruyko & Komodakis 2016): pre-activation basic blocks, widths 16K, 32K,
    /// 64K, a 1×1 convolution on the shortcut where the shape changes, dropout between the two
    /// convolutions of a block, a final BN-ReLU, global average pooling and a linear classifier.
    static func wideResNet(_ b: NetworkBuilder, depth: Int, widen: Int, classes: Int) -> Int {
        let blocks = (depth - 4) / 6
        var x = b.conv(b.input, outChannels: 16, kernel: 3, name: "conv1")
        for (stage, base) in [16, 32, 64].enumerated() {
            let width = base * widen
            for block in 0 ..< blocks {
                let stride = stage > 0 && block == 0 ? 2 : 1
                let prefix = "block\(stage + 1).\(block)"
                let activated = b.batchNorm(x, relu: true, name: "\(prefix).bn1")
                var shortcut = x
                if stride != 1 || b.shape(x).channels != width {
                    shortcut = b.conv(activated, outChannels: width, kernel: 1, stride: stride, padding: 0,
                                      name: "\(prefix).shortcut")
                }
                var h = b.conv(activated, outChannels: width, kernel: 3, stride: stride, name: "\(prefix).conv1")
                h = b.batchNorm(h, relu: true, name: "\(prefix).bn2")
                h = b.dropout(h, name: "\(prefix).dropout")
                h = b.conv(h, outChannels: width, kernel: 3, name: "\(prefix).conv2")
                x = b.add(h, shortcut, relu: false, name: "\(prefix).add")
            }
        }
        x = b.batchNorm(x, relu: true, name: "bn")
        x = b.globalAvgPool(x)
        return b.linear(x, outFeatures: classes, name: "fc")
    }
}

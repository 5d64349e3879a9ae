import Engine
import Testing

@Suite("Models by name")
struct ModelTests {
    static let cifar = TensorShape(channels: 3, height: 32, width: 32)

    /// He et al.'s CIFAR ResNets with option-A shortcuts have, for n blocks per stage,
    /// 1,114 + 4,672n + (13,952 + 18,560(n−1)) + (55,552 + 73,984(n−1)) parameters (first conv and
    /// BN, three stages, classifier); resnet20's 269,722 is the count the common PyTorch
    /// reference implementation prints ("0.27M" in the paper).
    @Test("ResNet parameter counts", arguments: [(8, 75_290), (20, 269_722), (32, 464_154), (44, 658_586),
                                                 (56, 853_018), (110, 1_727_962)])
    func resnetParameters(depth: Int, expected: Int) throws {
        let n = (depth - 2) / 6
        #expect(expected == 1_114 + 4_672 * n + 13_952 + 18_560 * (n - 1) + 55_552 + 73_984 * (n - 1))
        let network = try ModelZoo.make("resnet\(depth)", input: Self.cifar, classes: 10, seed: 1)
        #expect(network.parameterCount == expected)
    }

    @Test("resnet20: 40.55 M multiply-adds per 32×32 image, weight decay on conv and linear weights only")
    func resnet20() throws {
        let network = try ModelZoo.make("resnet20", input: Self.cifar, classes: 10, seed: 1)
        // conv1 0.44 M + stage 1 6 × 2.36 M + stages 2 and 3 (1.18 + 5 × 2.36) M each, + fc 640.
        #expect(network.flopsPerSample == 2 * (27 * 16 * 1024 + 6 * 2304 * 1024 + 4608 * 256 + 5 * 9216 * 256
                                               + 18432 * 64 + 5 * 36864 * 64 + 640))
        for spec in network.parameters.table {
            #expect(spec.decays == (spec.role == .weight), "\(spec.name)")
            #expect(spec.decays == spec.name.hasSuffix("conv1.weight") || spec.decays == spec.name.hasSuffix("conv2.weight")
                    || spec.decays == (spec.name == "fc.weight"), "\(spec.name)")
        }
        // conv weights 267,696 + classifier weights 640
        #expect(network.parameters.table.filter(\.decays).map(\.count).reduce(0, +) == 267_696 + 640)
        #expect(network.parameters.statisticsTable.count == 2 * 19)
    }

    /// The published counts: WRN-28-10 36.5 M (36,479,194 in the common PyTorch implementation),
    /// WRN-16-4 2.7 M.
    @Test("wide ResNet parameter counts")
    func wideResNets() throws {
        let wrn28 = try ModelZoo.make("wrn28-10", input: Self.cifar, classes: 10, seed: 1)
        let wrn16 = try ModelZoo.make("wrn16-4", input: Self.cifar, classes: 10, seed: 1)
        #expect(wrn28.parameterCount == 36_479_194)
        #expect(wrn16.parameterCount == 2_748_890)
    }

    @Test("any input channels and size, any number of classes", arguments: ["mlp", "cnn", "resnet8", "wrn10-1"])
    func shapes(name: String) throws {
        for (input, classes) in [(TensorShape(channels: 1, height: 28, width: 28), 10),
                                 (TensorShape(channels: 3, height: 32, width: 32), 100),
                                 (TensorShape(channels: 3, height: 20, width: 24), 7)] {
            let network = try ModelZoo.make(name, input: input, classes: classes, seed: 1)
            let images = randomImages(2, input)
            let outputs = images.withUnsafeBufferPointer {
                network.forwardOutputs(images: $0.baseAddress!, count: 2, training: false)
            }
            #expect(outputs.last!.shape == TensorShape(features: classes))
            #expect(outputs.last!.values.allSatisfy { $0.isFinite })
        }
    }

    @Test("unknown names are refused with the list of valid ones")
    func unknownNames() {
        for name in ["resnet21", "resnet", "wrn28", "wrn27-10", "vgg16", "wrn28-0", ""] {
                #expect(throws: ModelZoo.UnknownModel.self, "\(name)") {
                _ = try ModelZoo.make(name, input: Self.cifar, classes: 10, seed: 1)
            }
        }
        do {
            _ = try ModelZoo.make("vgg16", input: Self.cifar, classes: 10, seed: 1)
        } catch {
            let message = "\(error)"
            #expect(message.contains("vgg16") && message.contains("resnet20") && message.contains("wrn28-10"))
        }
    }

    @Test("the same seed builds the same model; another seed another")
    func seeds() throws {
        let a = try ModelZoo.make("resnet8", input: Self.cifar, classes: 10, seed: 4)
        let b = try ModelZoo.make("resnet8", input: Self.cifar, classes: 10, seed: 4)
        let c = try ModelZoo.make("resnet8", input: Self.cifar, classes: 10, seed: 5)
        #expect(Array(a.parameters.values.buffer) == Array(b.parameters.values.buffer))
        #expect(Array(a.parameters.values.buffer) != Array(c.parameters.values.buffer))
    }
}

import Engine
import Foundation
import Testing

/// `Network.reservedBytes` is what `train` checks against the machine before it allocates: it must
/// be what `reserve` really takes.
@Suite("Memory estimates")
struct MemoryEstimateTests {
    /// The estimate's arithmetic. Whether it is what a step really makes resident is checked in a
    /// process of its own (`HostileInputCLITests.benchStepEstimate`): this test process runs other
    /// suites in parallel, whose allocations its resident size would count.
    @Test("the estimate of a ghost batch's memory covers the activation slots and is linear in the images",
          arguments: [("resnet20", 3, 32), ("cnn", 3, 32), ("wrn10-2", 3, 32), ("mlp", 1, 28)])
    func reservedBytes(model: String, channels: Int, size: Int) throws {
        let images = 128
        let network = try ModelZoo.make(model, input: TensorShape(channels: channels, height: size, width: size),
                                        classes: 10, seed: 1)
        network.dropoutRate = 0.1
        let estimate = network.reservedBytes(images: images)
        let pixels = [Float](repeating: 0.5, count: images * network.inputShape.elements)
        let labels = [Int32](repeating: 1, count: images)
        _ = pixels.withUnsafeBufferPointer { x in
            labels.withUnsafeBufferPointer { y in
                network.trainStep(images: x.baseAddress!, labels: y.baseAddress!, count: images, ghostBatchSize: images,
                                  dropout: DropoutKey(seed: 1, step: 0))
            }
        }
        #expect(estimate > 1 << 20, "\(model): \(estimate) bytes")
        // The activation slots as allocated, plus the layers' scratch.
        #expect(estimate >= network.activationBytes && estimate < network.activationBytes * 3 / 2 + (4 << 20),
                "\(model): estimated \(estimate), activation slots \(network.activationBytes)")
        // Linear in the images of a pass (what the run's estimate extrapolates).
        let one = network.reservedBytes(images: 1), two = network.reservedBytes(images: 2)
        #expect(network.reservedBytes(images: 1000) == one + (two - one) * 999)
        #expect(network.stepMemory(imagesPerStep: 1000, ghostBatchSize: 1000).parts[1].bytes == Double(network.reservedBytes(images: 1000)))
    }

    @Test("an absurd request is estimated, not overflowed")
    func absurdRequest() throws {
        let network = try ModelZoo.make("cnn", input: TensorShape(channels: 3, height: 32, width: 32), classes: 10, seed: 1)
        let estimate = network.stepMemory(imagesPerStep: 1 << 40, ghostBatchSize: 1 << 40)
        #expect(estimate.total > 1e18 && estimate.total.isFinite)
        #expect(estimate.description.contains("PB") || estimate.description.contains("EB"), "\(estimate)")
        #expect((availableMemoryBytes() ?? 0) > 0)
    }
}

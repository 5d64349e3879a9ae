import Augmentation
import Collectives
import Engine

/// Test-set evaluation, sharded over ranks: each rank runs its shard of the test set forward in
/// evaluation mode (running batch-norm statistics, no dropout), and the ranks' sums of loss,
/// correct predictions and samples are added up — in rank order over the ranks simulated in one
/// process, then all-reduced over the job.
public enum TestSetEvaluation {
    /// The test loss and error of `network` over the shards of the ranks played here (each an
    /// augmenter without transforms and its number of samples), `chunk` images per forward pass.
    /// Collective.
    public static func run(network: Network, shards: [(augmenter: BatchAugmenter, count: Int)], chunk requested: Int,
                           communicator world: any Communicator) throws -> (loss: Double, error: Double, samples: Int) {
        let chunk = max(requested, 1)
        var images = [Float](repeating: 0, count: chunk * network.inputShape.elements)
        var labels = [Int32](repeating: 0, count: chunk)
        var indices = [Int](repeating: 0, count: chunk)
        var total = [0.0, 0.0, 0.0]
        for (augmenter, count) in shards {
            var sums = [0.0, 0.0, 0.0]
            var first = 0
            while first < count {
                let rows = min(chunk, count - first)
                for i in 0 ..< rows { indices[i] = first + i }
                images.withUnsafeMutableBufferPointer { x in
                    labels.withUnsafeMutableBufferPointer { y in
                        indices.withUnsafeBufferPointer { samples in
                            augmenter.fill(images: x.baseAddress!, labels: y.baseAddress!,
                                           samples: UnsafeBufferPointer(rebasing: samples[..<rows]), copies: 1, epoch: 0)
                        }
                    }
                }
                let result = images.withUnsafeBufferPointer { x in
                    labels.withUnsafeBufferPointer { y in
                        network.evaluate(images: x.baseAddress!, labels: y.baseAddress!, count: rows, chunk: chunk)
                    }
                }
                sums[0] += result.lossSum
                sums[1] += Double(result.correct)
                sums[2] += Double(rows)
                first += rows
            }
            for i in total.indices { total[i] += sums[i] }
        }
        if world.size > 1 { try world.allreduceSum(&total) }
        return (total[0] / max(total[2], 1), 1 - total[1] / max(total[2], 1), Int(total[2]))
    }
}

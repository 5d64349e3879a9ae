import Augmentation
import Datasets
import Engine
import Formatting

/// The memory a run takes, estimated before anything large is allocated, and checked against
/// the machine: a request beyond it stops every rank with the figures instead of failing to
/// allocate (an abort with a backtrace) after minutes of loading.
extension RunPlan {
    /// What one process of the run holds in `epoch` (its settings: the regime may change B and M):
    /// the step (`Network.stepMemory`), the test-set evaluation's images, the simulated ranks'
    /// own gradients and the datasets' shards of the ranks played here.
    func memory(epoch: Int, network: Network) -> MemoryEstimate {
        let hosted = simulated ? ranks : 1
        var estimate = network.stepMemory(imagesPerStep: imagesPerRank(epoch: epoch), ghostBatchSize: ghostBatchSize(epoch: epoch))
        estimate.add("evaluation images", Double(ghostBatchSize(epoch: epoch)) * Double(4 * (network.inputShape.elements + 1)))
        if simulated { estimate.add("gradients of the \(ranks) simulated ranks", Double(ranks) * 4 * Double(network.parameters.count)) }
        let train = Double(configuration.trainSamples ?? descriptor.trainCount), test = Double(descriptor.testCount)
        let bytesPerRecord = Double(descriptor.recordBytes + 4 + 8)   // pixels, label, place in the epoch order
        guard photos != nil else {
            estimate.add("datasets", Double(hosted) * ((train + test) / Double(ranks) + 1) * bytesPerRecord)
            return estimate
        }
        // Photographs: the training shard is an index of files; a step decodes its b samples into
        // buffers of their own (a shorter side below 2T, T the decode side; 4:3 assumed), one
        // image at a time goes through the decoder's RGBA scratch, which the largest image
        // --max-image-pixels allows may fill; the validation images are decoded once.
        let side = Double(PhotoGeometry.decodeSide(size: descriptor.height, transforms: transforms))
        estimate.add("sample index (file names, labels, order)", Double(hosted) * (train / Double(ranks) + 1) * 160)
        estimate.add("validation images (decoded once)", Double(hosted) * (test / Double(ranks) + 1) * bytesPerRecord)
        estimate.add("decoded images of a step", Double(hosted * batchPerRank(epoch: epoch)) * 3 * (2 * side) * (8 * side / 3))
        estimate.add("decoder scratch (--max-image-pixels, RGBA)", 4 * Double(configuration.maxImagePixels))
        if cacheBytes > 0 { estimate.add("decoded-image cache (--cache-decoded)", Double(hosted * cacheBytes)) }
        return estimate
    }

    /// The epoch whose settings need the most memory, and that estimate.
    func largestMemory(network: Network) -> (epoch: Int, estimate: MemoryEstimate) {
        let epochs: [Int] = [0] + schedule.changeEpochs.filter { $0 < self.epochs }
        let estimates: [(epoch: Int, estimate: MemoryEstimate)] = epochs.map { ($0, memory(epoch: $0, network: network)) }
        return estimates.max { (a, b) -> Bool in a.estimate.total < b.estimate.total }!
    }

    /// Refuses a run whose processes on this host (`sharing` of them) would need more than the
    /// `available` bytes, naming the option that asks for the memory and the figures.
    func checkMemory(network: Network, sharing processes: Int, host: String?, available: Int?) throws {
        guard let available else { return }
        let (epoch, estimate) = largestMemory(network: network)
        let needed = estimate.total * Double(processes)
        guard needed > Double(available) else { return }
        let s = settings(epoch: epoch)
        let fromRegime = s.copies != configuration.copies || s.batchSize != configuration.batchSize
        let option = fromRegime ? "regime" : s.copies > 1 ? "copies" : "batch-size"
        let asked = fromRegime ? "from epoch \(epoch) (batch-size \(s.batchSize), copies \(s.copies))"
            : option == "copies" ? "\(s.copies) with --batch-size \(s.batchSize)" : "\(s.batchSize) with --copies \(s.copies)"
        let machine = processes > 1 ? "; \(processes) ranks on \(host ?? "this host") need \(ByteSize.describe(needed))" : ""
        throw ConfigurationError(
            option: option,
            problem: "\(asked): \(s.batchSize * s.copies) images per step need an estimated "
                + "\(estimate) per \(simulated || ranks == 1 ? "process" : "rank")\(machine), "
                + "more than the \(ByteSize.describe(Double(available))) of memory available"
                + (host.map { " on \($0)" } ?? "")
                + " (lower --copies or --batch-size, or set a smaller --ghost-batch-size: activations follow it)")
    }
}

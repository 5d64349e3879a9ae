import Checkpoints
import Collectives
import Engine
import Foundation
import JSON

/// The run's state on disk: the output directory, config.json and checkpoints.
extension Trainer {
    /// Creates the output directory (rank 0) and checks that it is writable and does not already
    /// hold another run, whose results would be mixed with this one's.
    static func prepareOutput(_ path: String, resuming: Bool) throws -> URL {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let files = FileManager.default
        do {
            try files.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw TrainingFailure("--output \(path): cannot create the directory: \(error.localizedDescription)")
        }
        if !resuming {
            for name in ["config.json", "results.csv", CheckpointStore.directoryName]
            where files.fileExists(atPath: url.appendingPathComponent(name).path) {
                throw TrainingFailure("--output \(path) already holds a run (\(name)): choose another directory, "
                                      + "or continue that run with --resume \(path)")
            }
        }
        let probe = url.appendingPathComponent(".write-test-\(getpid())")
        guard files.createFile(atPath: probe.path, contents: Data("ok".utf8)) else {
            throw TrainingFailure("--output \(path): the directory is not writable")
        }
        try? files.removeItem(at: probe)
        return url
    }

    /// config.json: the resolved configuration (feed it back with --config to repeat the run), the
    /// ranks, hosts and versions.
    func writeConfiguration(to directory: URL) throws {
        let description: JSONValue = .object([
            "configuration": try JSONValue(encoding: configuration),
            "job": .object([
                "ranks": .number(plan.ranks),
                "simulated": .bool(plan.simulated),
                "processes": .number(world.size),
                "hosts": .array(job.hosts.map { .string($0) }),
                "model_parameters": .number(network.parameterCount),
                "model_flops_per_sample": .number(network.flopsPerSample),
                "dataset_train_samples": .number(ranksHere.first!.train.totalCount),
                "dataset_test_samples": .number(ranksHere.first!.test.totalCount),
                "epochs_after_adaptation": .number(plan.epochs),
            ]),
            "versions": .object([
                "batchaug-dist": .string(job.version), "mpi": .string(job.mpi), "openblas": .string(job.blas),
            ]),
        ])
        try Data((try description.jsonText() + "\n").utf8).write(to: directory.appendingPathComponent("config.json"),
                                                                  options: .atomic)
    }

    /// Parameters, batch-norm statistics and momentum, under the parameter table's names; the
    /// statistics are the network's (averaged over ranks by the caller). With several ranks, each
    /// rank's own statistics too, as "rank<r>/<name>", so that a resumed run continues exactly.
    func checkpointTensors(rankStatistics: [[Float]]) throws -> [NamedTensor] {
        let store = network.parameters
        var tensors: [NamedTensor] = []
        for spec in store.table {
            tensors.append(try NamedTensor(name: spec.name, shape: spec.shape,
                                           copying: UnsafeBufferPointer(rebasing: store.values.buffer[spec.range])))
            tensors.append(try NamedTensor(name: "momentum/" + spec.name, shape: spec.shape,
                                           copying: UnsafeBufferPointer(rebasing: optimizer.velocity.buffer[spec.range])))
        }
        for spec in store.statisticsTable {
            tensors.append(try NamedTensor(name: spec.name, shape: spec.shape,
                                           copying: UnsafeBufferPointer(rebasing: store.statistics.buffer[spec.range])))
        }
        if rankStatistics.count > 1 {
            for (rank, statistics) in rankStatistics.enumerated() {
                for spec in store.statisticsTable {
                    tensors.append(try NamedTensor(name: "rank\(rank)/" + spec.name, shape: spec.shape,
                                                   values: Array(statistics[spec.range])))
                }
            }
        }
        return tensors
    }

    /// Writes the checkpoint of the state after `completedEpochs` epochs and `stepInEpoch` steps
    /// of the next (rank 0; all ranks learn whether it worked). The previous checkpoint stays
    /// until the new one is complete.
    func saveCheckpoint(completedEpochs: Int, stepInEpoch: Int, rankStatistics: [[Float]]) throws {
        var failure: String? = nil
        if world.isRoot, let output {
            do {
                let info = try CheckpointInfo(
                    epoch: completedEpochs, step: globalStepCount, ranks: plan.ranks, model: configuration.model,
                    encoding: configuration, toolVersion: job.version,
                    extra: ["parameter_checksum": .string(String(network.parameters.checksum(), radix: 16)),
                            "step_in_epoch": .number(stepInEpoch),
                            "dataset": .string(configuration.dataset)])
                try CheckpointStore.write(directory: CheckpointStore.directory(in: output), info: info,
                                          tensors: checkpointTensors(rankStatistics: rankStatistics))
            } catch {
                failure = "cannot write the checkpoint at step \(globalStepCount): \(error)"
            }
        }
        try Self.agree(failure, on: world)
    }

    /// Loads the checkpoint on rank 0 and sends its state to every rank: parameters, running
    /// statistics, momentum, the epoch to continue with and the step count.
    func restore(_ checkpoint: Checkpoint?) throws {
        let store = network.parameters
        var failure: String? = nil
        var position = [Int64(0), Int64(0), Int64(0)]
        var rankStatistics = [Float](repeating: 0, count: plan.ranks * store.statistics.count)
        if world.isRoot, let checkpoint {
            do {
                let info = checkpoint.info
                guard info.model == configuration.model else {
                    throw TrainingFailure("--resume: the checkpoint in \(checkpoint.directory.path) is of model "
                                          + "\(info.model), not \(configuration.model)")
                }
                try TrainingLauncher.checkRanks(of: checkpoint, against: plan.ranks)
                for spec in store.table {
                    try checkpoint.restore(spec.name, shape: spec.shape,
                                           into: UnsafeMutableBufferPointer(rebasing: store.values.buffer[spec.range]))
                    try checkpoint.restore("momentum/" + spec.name, shape: spec.shape,
                                           into: UnsafeMutableBufferPointer(rebasing: optimizer.velocity.buffer[spec.range]))
                }
                // Each rank's own statistics; a checkpoint without them (one rank, or written before
                // they were saved) gives every rank the averaged ones.
                let perRank = plan.ranks > 1 && checkpoint.tensors.contains { $0.name.hasPrefix("rank0/") }
                for rank in 0 ..< plan.ranks {
                    let prefix = perRank ? "rank\(rank)/" : ""
                    try rankStatistics.withUnsafeMutableBufferPointer { all in
                        for spec in store.statisticsTable {
                            let slice = UnsafeMutableBufferPointer(rebasing: all[rank * store.statistics.count + spec.range.lowerBound
                                                                                 ..< rank * store.statistics.count + spec.range.upperBound])
                            try checkpoint.restore(prefix + spec.name, shape: spec.shape, into: slice)
                        }
                    }
                }
                var inEpoch = Int64(0)
                if case let .integer(value)? = info.extra["step_in_epoch"] { inEpoch = value }
                position = [Int64(info.epoch), inEpoch, Int64(info.step)]
                for skipped in checkpoint.passedOver {
                    console.line("warning: resuming from an older checkpoint; the newer one is unusable: \(skipped)")
                }
            } catch {
                failure = "\(error)"
            }
        } else if world.isRoot {
            failure = "--resume: no checkpoint was loaded"
        }
        try Self.agree(failure, on: world)
        try world.broadcast(UnsafeMutableRawBufferPointer(store.values.buffer), root: 0)
        try world.broadcast(UnsafeMutableRawBufferPointer(optimizer.velocity.buffer), root: 0)
        try world.broadcast(&position, root: 0)
        resumePosition = (Int(position[0]), Int(position[1]), Int(position[2]))
        // Each rank's own running statistics (all ranks', from rank 0; they are small).
        try world.broadcast(&rankStatistics, root: 0)
        let count = store.statistics.count
        func own(_ rank: Int) -> ArraySlice<Float> { rankStatistics[rank * count ..< (rank + 1) * count] }
        for data in ranksHere { data.statistics = Array(own(data.rank)) }
        if !plan.simulated {
            own(world.rank).withUnsafeBufferPointer { store.statistics.pointer.update(from: $0.baseAddress!, count: count) }
        }
    }
}

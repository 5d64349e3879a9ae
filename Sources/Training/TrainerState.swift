import Checkpoints
import Collectives
import DataParallel
import Datasets
import Engine
import Foundation
import JSON
import RunReport

/// The run's state on disk: the output directory, config.json and checkpoints.
extension Trainer {
    /// Creates the output directory (rank 0) and checks that it is writable and does not already
    /// hold another run, whose results would be mixed with this one's.
    /// The directory stays locked (`RunLock`) while the returned lock lives.
    static func prepareOutput(_ path: String, resuming: Bool) throws -> (URL, RunLock) {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let files = FileManager.default
        do {
            try files.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw TrainingFailure.refused("--output \(path): cannot create the directory: \(error.localizedDescription)")
        }
        // Locked before the checks below: of two runs started together, one gets the directory.
        let lock = try RunLock(directory: url, option: resuming ? "resume" : "output")
        if !resuming {
            for name in [RunFiles.configuration, RunFiles.results, CheckpointStore.directoryName]
            where files.fileExists(atPath: url.appendingPathComponent(name).path) {
                throw TrainingFailure.refused("--output \(path) already holds a run (\(name)): choose another directory, "
                                      + "or continue that run with --resume \(path)")
            }
        }
        let probe = url.appendingPathComponent(".write-test-\(getpid())")
        guard files.createFile(atPath: probe.path, contents: Data("ok".utf8)) else {
            throw TrainingFailure.refused("--output \(path): the directory is not writable")
        }
        try? files.removeItem(at: probe)
        return (url, lock)
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
                "dataset_train_samples": .number(ranksHere.first!.trainCount),
                "dataset_test_samples": .number(ranksHere.first!.test.totalCount),
                "epochs_after_adaptation": .number(plan.epochs),
                "classes": RecordedClasses.json(plan.descriptor.classNames),
                "allreduce": .string(allreduce.policy.algorithm(forCount: network.parameters.count).rawValue),
            ]),
            "versions": .object([
                "batchaug-dist": .string(job.version), "mpi": .string(job.mpi), "openblas": .string(job.blas),
            ]),
            JobDescription.kernelsKey: job.kernelRecord,
        ])
        try Data((try description.jsonText() + "\n").utf8).write(to: directory.appendingPathComponent(RunFiles.configuration),
                                                                  options: .atomic)
    }

    /// Parameters, momentum and batch-norm statistics (the network's: averaged over ranks by the
    /// caller); with several ranks, each rank's own statistics too, so that a resumed run
    /// continues exactly.
    func checkpointTensors(rankStatistics: [[Float]]) throws -> [NamedTensor] {
        let store = network.parameters
        var tensors = try ModelTensors.parameters(of: store).tensors(from: UnsafeBufferPointer(store.values.buffer))
            + ModelTensors.momentum(of: store).tensors(from: UnsafeBufferPointer(optimizer.velocity.buffer))
            + ModelTensors.statistics(of: store).tensors(from: UnsafeBufferPointer(store.statistics.buffer))
        if rankStatistics.count > 1 {
            for (rank, statistics) in rankStatistics.enumerated() {
                tensors += try statistics.withUnsafeBufferPointer {
                    try ModelTensors.statistics(of: store, rank: rank).tensors(from: $0)
                }
            }
        }
        return tensors
    }

    /// Writes the checkpoint of the state after `completedEpochs` epochs and `stepInEpoch` steps
    /// of the next (rank 0; all ranks learn whether it worked). The previous checkpoint stays
    /// until the new one is complete.
    func saveCheckpoint(completedEpochs: Int, stepInEpoch: Int, rankStatistics: [[Float]]) throws {
        _ = try world.collectivelyOnRoot {
            guard let output else { return }
            do {
                let info = try CheckpointInfo(
                    epoch: completedEpochs, step: globalStepCount, ranks: plan.ranks, model: configuration.model,
                    encoding: configuration, toolVersion: job.version,
                    extra: ["parameter_checksum": .string(String(parameterChecksum(), radix: 16)),
                            "step_in_epoch": .number(stepInEpoch),
                            "dataset": .string(configuration.dataset),
                            JobDescription.kernelsKey: job.kernelRecord,
                            "classes": RecordedClasses.json(plan.descriptor.classNames)].merging(try allreduce.record()) { $1 })
                try CheckpointStore.write(directory: CheckpointStore.directory(in: output), info: info,
                                          tensors: checkpointTensors(rankStatistics: rankStatistics))
            } catch {
                throw TrainingFailure("cannot write the checkpoint at step \(globalStepCount): \(error)")
            }
        }
    }

    /// Checks where a checkpoint says training stood against this run (rank 0, whose data gives
    /// the steps of each epoch): an epoch of the run (or its end), a step inside that epoch, and a
    /// step count that is the steps of the epochs before it plus the step inside it.
    func checkPosition(epoch: Int, stepInEpoch: Int64, step: Int, file: String) throws {
        func refuse(_ field: String, _ value: String, _ expected: String) -> TrainingFailure {
            TrainingFailure.refused("--resume: \(file) says \"\(field)\": \(value); expected \(expected)")
        }
        guard (0 ... plan.epochs).contains(epoch) else {
            throw refuse("epoch", "\(epoch)", "0 to \(plan.epochs) (the epochs completed, of this run's \(plan.epochs))")
        }
        func steps(_ epoch: Int) throws -> Int {
            try ranksHere[0].stepsPerEpoch(batchPerRank: plan.batchPerRank(epoch: epoch))
        }
        let inEpoch = epoch < plan.epochs ? try steps(epoch) : 1
        guard (0 ..< Int64(inEpoch)).contains(stepInEpoch) else {
            throw refuse("step_in_epoch", "\(stepInEpoch)", epoch < plan.epochs
                ? "0 to \(inEpoch - 1) (epoch \(epoch) has \(inEpoch) steps)" : "0 (the run's \(plan.epochs) epochs are complete)")
        }
        // The steps of the epochs before, phase by phase of the regime (the batch is constant in each).
        var expected: Int? = Int(stepInEpoch)
        let starts = [0] + plan.schedule.changeEpochs.filter { $0 < epoch }
        for (index, start) in starts.enumerated() {
            let end = index + 1 < starts.count ? starts[index + 1] : epoch
            let phase = (end - start).multipliedReportingOverflow(by: try steps(start))
            let sum = expected?.addingReportingOverflow(phase.partialValue)
            expected = phase.overflow || sum?.overflow != false ? nil : sum?.partialValue
        }
        guard let expected, step == expected else {
            throw refuse("step", "\(step)", "\(expected.map(String.init) ?? "more steps than an Int counts") ("
                + (epoch > 0 ? "the steps of epochs 0 to \(epoch - 1) and \(stepInEpoch) of epoch \(epoch))" : "\(stepInEpoch) steps of epoch 0)"))
        }
    }

    /// Loads the checkpoint on rank 0 and sends its state to every rank: parameters, running
    /// statistics, momentum, the epoch to continue with and the step count.
    func restore(_ checkpoint: Checkpoint?) throws {
        let store = network.parameters
        let count = store.statistics.count
        var position = [Int64(0), Int64(0), Int64(0)]
        var rankStatistics = [Float](repeating: 0, count: plan.ranks * count)
        _ = try world.collectivelyOnRoot {
            guard let checkpoint else { throw TrainingFailure.refused("--resume: no checkpoint was loaded") }
            let info = checkpoint.info
            guard info.model == configuration.model else {
                throw TrainingFailure.refused("--resume: the checkpoint in \(checkpoint.directory.path) is of model "
                                      + "\(info.model), not \(configuration.model)")
            }
            try TrainingLauncher.checkRanks(of: checkpoint, against: plan.ranks)
            try RecordedClasses.check(checkpoint, against: plan.descriptor.classNames, option: "resume")
            do {
                try ModelTensors.parameters(of: store).restore(from: checkpoint, into: store.values.buffer)
                try ModelTensors.momentum(of: store).restore(from: checkpoint, into: optimizer.velocity.buffer)
                // Each rank's own statistics; a checkpoint without them (one rank, or written before
                // they were saved) gives every rank the averaged ones.
                let perRank = plan.ranks > 1 && ModelTensors.statistics(of: store, rank: 0).isPresent(in: checkpoint)
                try rankStatistics.withUnsafeMutableBufferPointer { all in
                    for rank in 0 ..< plan.ranks {
                        try ModelTensors.statistics(of: store, rank: perRank ? rank : nil)
                            .restore(from: checkpoint, into: UnsafeMutableBufferPointer(rebasing: all[rank * count ..< (rank + 1) * count]))
                    }
                }
            } catch let error as ModelTensors.UnusableValue {
                throw TrainingFailure.refused("--resume: \(error)")
            }
            var inEpoch = Int64(0)
            if case let .integer(value)? = info.extra["step_in_epoch"] { inEpoch = value }
            try checkPosition(epoch: info.epoch, stepInEpoch: inEpoch, step: info.step,
                              file: checkpoint.directory.appendingPathComponent(CheckpointStore.infoFileName).path)
            position = [Int64(info.epoch), inEpoch, Int64(info.step)]
            for skipped in checkpoint.passedOver {
                console.line("warning: resuming from an older checkpoint; the newer one is unusable: \(skipped)")
            }
            if let recorded = info.extra[JobDescription.kernelsKey], recorded != job.kernelRecord {
                console.line("note: the checkpoint was written on other kernels (\(Self.render(recorded))) than this run's "
                    + "(\(Self.render(job.kernelRecord))): it continues, but its last bits will differ from a run "
                    + "that went on with the checkpoint's kernels")
            }
        }
        try world.broadcast(UnsafeMutableRawBufferPointer(store.values.buffer), root: 0)
        try world.broadcast(UnsafeMutableRawBufferPointer(optimizer.velocity.buffer), root: 0)
        try world.broadcast(&position, root: 0)
        resumePosition = (Int(position[0]), Int(position[1]), Int(position[2]))
        // Each rank's own running statistics (all ranks', from rank 0; they are small).
        try world.broadcast(&rankStatistics, root: 0)
        stepper.statistics.restore(everyRank: (0 ..< plan.ranks).map { Array(rankStatistics[$0 * count ..< ($0 + 1) * count]) })
    }
}

extension JobDescription {
    /// The key of the kernel set in config.json and checkpoint.json.
    static let kernelsKey = "kernels"

    /// The kernels as recorded: "SkylakeX/avx512" when every rank computes with the same, else
    /// each rank's in rank order (their gradients are summed, so every one of them shapes the bits).
    var kernelRecord: JSONValue {
        let records = kernels.map(\.record)
        return Set(records).count <= 1 ? .string(records.first ?? KernelSet.current.record) : .array(records.map(JSONValue.string))
    }
}

extension Trainer {
    static func render(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): text
        case .array(let items): items.map(render).joined(separator: ", ")
        default: (try? value.jsonText()) ?? "?"
        }
    }
}

/// The classes of a dataset by label, as config.json and checkpoints record them: their names
/// (a folder's class folders, the publishers' names of the built-in datasets).
enum RecordedClasses {
    static func json(_ names: [String]) -> JSONValue { .array(names.map { .string($0) }) }

    /// Refuses a checkpoint trained on other classes than `names` (a folder whose class folders
    /// changed would silently relabel every output). Checkpoints that recorded no names pass.
    static func check(_ checkpoint: Checkpoint, against names: [String], option: String) throws {
        guard case .array(let recorded)? = checkpoint.info.extra["classes"], !recorded.isEmpty else { return }
        let saved = recorded.map { if case .string(let name) = $0 { name } else { "?" } }
        guard saved == names else {
            throw TrainingFailure.refused("--\(option): the checkpoint in \(checkpoint.directory.path) was trained on the classes "
                + "\(saved.joined(separator: ", ")) (labels 0 to \(saved.count - 1)); the data has "
                + names.joined(separator: ", ")
                + ": the outputs would mean other classes (use the data the model was trained on)")
        }
    }
}

import Collectives
import Foundation
import RunReport
import Testing
import Training

/// The trainer in this process (one rank, or K simulated ranks), without MPI.
@Suite("training in one process", .serialized)
struct InProcessTrainingTests {
    private func train(_ change: (inout TrainingConfiguration) -> Void) throws -> TrainingSummary {
        var c = TrainingConfiguration()
        c.model = "mlp"
        c.batchSize = 64
        c.maxSteps = 4
        c.evalEvery = 0
        c.output = nil
        change(&c)
        let job = JobDescription(version: "test", mpi: "none", blas: "test", hosts: ["here"])
        return try Trainer(configuration: c, communicator: SingleProcessCommunicator(), job: job).run()
    }

    @Test("a run is a function of its configuration: same seed, same parameters; another seed, others")
    func reproducible() throws {
        let a = try train { _ in }
        let b = try train { _ in }
        let c = try train { $0.seed = 2 }
        #expect(a.steps == 4)
        #expect(a.parameters == b.parameters)
        #expect(a.parameterChecksum == b.parameterChecksum)
        #expect(a.parameters != c.parameters)
    }

    @Test("an epoch of the small CNN lowers the test loss well below that of its first step")
    func learns() throws {
        let epoch = try #require(try train { $0.model = "cnn"; $0.batchSize = 128; $0.maxSteps = nil; $0.epochs = 1 }.epochs.last)
        let first = try #require(try train { $0.model = "cnn"; $0.batchSize = 128; $0.maxSteps = 1 }.epochs.last)
        let (trained, start) = (try #require(epoch[.validationLoss]), try #require(first[.validationLoss]))
        #expect(trained < 0.85 * start, "test loss \(trained) after an epoch, \(start) after one step")
        #expect(epoch.step == 78, "10,000 samples in batches of 128: 78 steps, the remainder dropped")
    }

    @Test("simulated ranks: each plays its own shard and batch norm, so K=2 differs from one rank")
    func simulatedRanksDiffer() throws {
        let one = try train { _ in }
        let two = try train { $0.simulateRanks = 2 }
        let twoAgain = try train { $0.simulateRanks = 2 }
        #expect(two.parameters == twoAgain.parameters)
        #expect(one.parameters != two.parameters)
    }

    @Test("the regime changes the batch size and copies at its epochs")
    func regime() throws {
        let summary = try train {
            $0.maxSteps = nil
            $0.epochs = 3
            $0.batchSize = 2_000
            $0.regime = "1:batch-size=1000,lr=0.05;2:copies=2"
        }
        #expect(summary.epochs.map { $0[.batchSize] } == [2_000, 1_000, 1_000])
        #expect(summary.epochs.map { $0[.copies] } == [1, 1, 2])
        #expect(summary.epochs.map { $0[.learningRate] } == [0.1, 0.05, 0.05])
        #expect(summary.epochs.map(\.step) == [5, 15, 25], "10,000 synthetic samples: 5, then 10 steps per epoch")
    }
}

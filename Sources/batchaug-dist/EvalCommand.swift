import ArgumentParser
import Engine
import Formatting
import Foundation
import JSON
import Training

/// `batchaug-dist eval --checkpoint DIR`: test loss and error of a saved model, on one rank or many.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the test loss and error of a saved model.",
        discussion: """
            DIR is a run's output directory or its checkpoint directory; the newest complete checkpoint \
            is used. The model and dataset come from the checkpoint's configuration; --dataset evaluates \
            on another dataset of the same shape and classes.
            """)

    @Option(help: ArgumentHelp("A run's output directory or checkpoint directory.", valueName: "dir"))
    var checkpoint: String
    @Option(help: "Dataset to evaluate on (default: the one the model was trained on).") var dataset: String?
    @Option(name: .customLong("data-dir"), help: "Directory of the dataset files.") var dataDirectory: String?
    @Option(help: "Images per forward pass.") var batchSize = 256
    @Flag(help: "Print one JSON object instead of a line of text.") var json = false

    func run() throws {
        try runJob { world in
            BLAS.useOneThreadPerRank()
            let report = try CheckpointEvaluation.run(checkpoint: checkpoint, dataset: dataset,
                                                      dataDirectory: dataDirectory, batchSize: batchSize,
                                                      communicator: world)
            guard world.isRoot else { return }
            if json {
                print(JSONLine().add("model", report.model).add("dataset", report.dataset).add("epoch", report.epoch)
                    .add("step", report.step).add("samples", report.samples).add("test_loss", report.loss)
                    .add("test_error", report.error).add("ranks", world.size).render())
            } else {
                let when = report.stepInEpoch > 0 ? "in epoch \(report.epoch), after \(report.stepInEpoch) of its steps"
                    : report.epoch > 0 ? "after epoch \(report.epoch - 1)" : "before training"
                print("\(report.model) \(when) (step \(report.step)) on \(report.dataset): "
                    + "test loss \(fixed(report.loss, 4)), test error \(percent(report.error)) over \(report.samples) images "
                    + "(\(report.checkpoint))")
            }
        }
    }
}

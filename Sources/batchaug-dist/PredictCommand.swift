import ArgumentParser
import Datasets
import Export
import Formatting
import JSON

/// `batchaug-dist predict --checkpoint DIR|--model FILE --records LIST [--dataset …] [--top-k K] [--json]`.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a trained model's most probable classes for images.",
        discussion: """
            The model is a run's newest checkpoint (--checkpoint) or a file written by `export --format \
            safetensors` (--model). The images are records of a dataset's split (--records), preprocessed as \
            for validation: the stored pixels normalised with the model's constants. The dataset is the one the \
            model was trained on unless --dataset names another of the same image shape.
            """)

    @Option(help: ArgumentHelp("A run's output directory or checkpoint directory.", valueName: "dir"))
    var checkpoint: String?
    @Option(help: ArgumentHelp("A model written by `export --format safetensors`.", valueName: "file"))
    var model: String?
    @Option(help: "The dataset the records come from (default: the model's).") var dataset: String?
    @Option(name: .customLong("data-dir"), help: "Directory of the dataset files (default: the model's run's).")
    var dataDirectory: String?
    @Option(help: "test or train.") var split = "test"
    @Option(help: ArgumentHelp("Records of the split: indices and inclusive ranges (0-9,20), or all.", valueName: "list"))
    var records: String
    @Option(help: "Classes to print per image.") var topK = 3
    @Flag(help: "One JSON object per image (with all logits) instead of a line of text.") var json = false

    func validate() throws {
        guard (checkpoint == nil) != (model == nil) else {
            throw ValidationError("give either --checkpoint DIR (a run's checkpoint) or --model FILE (an exported model)")
        }
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1, got \(topK)") }
        guard Split(rawValue: split) != nil else { throw ValidationError("--split must be test or train, got '\(split)'") }
        if let dataset, DatasetKind(rawValue: dataset) == nil {
            throw ValidationError("--dataset '\(dataset)' is not a dataset: choose "
                + DatasetKind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        do { _ = try RecordSelection(parsing: records) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        guard LaunchEnvironment.rank ?? 0 == 0 else { return }
        do {
            let trained = try TrainedModel.load(checkpoint: checkpoint, model: model, producer: "batchaug-dist \(BuildInfo.version)")
            let card = trained.card
            let name = dataset ?? card.dataset
            guard let kind = DatasetKind(rawValue: name) else {
                throw ExportError("the model was trained on '\(name)', not a dataset this program reads: name one with --dataset")
            }
            var directory = dataDirectory
            if directory == nil, dataset == nil, case let .string(trained)? = card.configuration.objectValue?["data-dir"] {
                directory = trained
            }
            let inputs = try PredictionInputs.records(kind, directory: directory, split: Split(rawValue: split)!,
                                                      selection: try RecordSelection(parsing: records), model: card)
            let predictions = Prediction.run(trained, on: inputs)
            for (index, prediction) in predictions.enumerated() {
                let top = prediction.top(min(topK, card.classes.count))
                if json {
                    var line = JSONLine().add("input", inputs.names[index])
                    if let label = inputs.labels[index] { line = line.add("label", label) }
                    if let labelName = inputs.labelNames[index] { line = line.add("label_name", labelName) }
                    print(line.add("top", .array(top.map {
                        .object(["class": .number($0.index), "name": .string(card.classes[$0.index]),
                                 "probability": .number(Double($0.probability))])
                    })).add("logits", .array(prediction.logits.map { .number(Double($0)) })).render())
                } else {
                    let label = inputs.labelNames[index].map { " (label \($0))" } ?? ""
                    print("\(inputs.names[index])\(label): "
                        + top.map { "\(card.classes[$0.index]) \(percent(Double($0.probability)))" }.joined(separator: ", "))
                }
            }
        } catch {
            StandardError.report("predict: \(error)")
            throw ExitCode.failure
        }
    }
}

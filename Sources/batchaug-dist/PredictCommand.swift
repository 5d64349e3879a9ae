import ArgumentParser
import Datasets
import Export
import Formatting
import JSON

/// `batchaug-dist predict --checkpoint DIR|--model FILE (IMAGE|FOLDER… | --records LIST [--dataset …]) [--top-k K] [--json]`.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a trained model's most probable classes for images.",
        discussion: """
            The model is a run's newest checkpoint (--checkpoint) or a file written by `export --format \
            safetensors` (--model). The images are JPEG or PNG files, or folders of them (a subfolder named \
            like one of the model's classes gives its images that label), preprocessed as for validation: \
            decoded, resized on the shorter side, the centre S×S taken, normalised with the model's constants. \
            Or records of a dataset's split (--records): the stored pixels normalised with the model's \
            constants; the dataset is the one the model was trained on unless --dataset names another of the \
            same image shape.
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
    var records: String?
    @Option(help: "Photographs of more pixels are refused before decoding (default: Pillow's limit).")
    var maxImagePixels: Int?
    @Argument(help: ArgumentHelp("JPEG or PNG files, or folders of them.", valueName: "image|folder"))
    var images: [String] = []
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
        guard (records == nil) != images.isEmpty else {
            throw ValidationError("give images (files or folders) or --records LIST of a dataset, not both and not neither")
        }
        if let records { do { _ = try RecordSelection(parsing: records) } catch { throw ValidationError("\(error)") } }
        if let maxImagePixels, maxImagePixels < 1 {
            throw ValidationError("--max-image-pixels must be at least 1, got \(maxImagePixels)")
        }
    }

    func run() throws {
        guard LaunchEnvironment.rank ?? 0 == 0 else { return }
        do {
            let trained = try TrainedModel.load(checkpoint: checkpoint, model: model, producer: "batchaug-dist \(BuildInfo.version)")
            let card = trained.card
            let inputs: PredictionInputs
            if let records {
                let name = dataset ?? card.dataset
                guard let kind = DatasetKind(rawValue: name), !kind.isPhotos else {
                    throw ExportError("--records: the model was trained on '\(name)', not a dataset of records: name one with "
                        + "--dataset, or give image files or folders")
                }
                var directory = dataDirectory
                if directory == nil, dataset == nil, case let .string(trained)? = card.configuration.objectValue?["data-dir"] {
                    directory = trained
                }
                inputs = try PredictionInputs.records(kind, directory: directory, split: Split(rawValue: split)!,
                                                      selection: try RecordSelection(parsing: records), model: card)
            } else {
                inputs = try PredictionInputs.photographs(images, model: card,
                                                          maxPixels: maxImagePixels ?? ImageDecoder.defaultMaxPixels)
                if !inputs.skipped.isEmpty {
                    StandardError.report("predict: \(inputs.skipped.count) file\(inputs.skipped.count == 1 ? " is" : "s are") not "
                        + "JPEG or PNG by name and left out: \(inputs.skipped.prefix(3).joined(separator: ", "))"
                        + (inputs.skipped.count > 3 ? ", …" : ""))
                }
            }
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

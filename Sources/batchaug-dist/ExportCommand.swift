import ArgumentParser
import Export
import Formatting
import Foundation

/// `batchaug-dist export --checkpoint DIR --output FILE [--format safetensors|onnx]`.
struct ExportModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a trained model for use elsewhere: safetensors for PyTorch, or ONNX.",
        discussion: """
            DIR is a run's output directory or its checkpoint directory; the newest complete checkpoint is \
            used. safetensors: the parameters and running batch-norm statistics under PyTorch's state_dict \
            names (python/batchaug_models.py builds every model of the zoo and loads them with strict=True), \
            with the architecture, classes, input shape, normalisation, batch-norm epsilon and the run's \
            configuration as metadata; `predict --model` reads it. onnx: the evaluation-mode network, opset \
            17, input float32 [batch, C, H, W] normalised as the metadata says, output logits [batch, classes].
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case safetensors, onnx
    }

    @Option(help: ArgumentHelp("A run's output directory or checkpoint directory.", valueName: "dir"))
    var checkpoint: String
    @Option(help: ArgumentHelp("The file to write (replaced if it exists).", valueName: "file"))
    var output: String
    @Option(help: "safetensors or onnx (default: onnx for a .onnx file, else safetensors).")
    var format: Format?

    func run() throws {
        // Under mpirun every rank would write the same file: the first one does.
        guard LaunchEnvironment.rank ?? 0 == 0 else { return }
        let format = format ?? (output.hasSuffix(".onnx") ? .onnx : .safetensors)
        do {
            let model = try TrainedModel.load(checkpoint: checkpoint, producer: "batchaug-dist \(BuildInfo.version)")
            let url = URL(fileURLWithPath: output)
            switch format {
            case .safetensors: try SafeTensorsExport.write(model, to: url)
            case .onnx: try ONNXExport.write(model, to: url)
            }
            let card = model.card
            print("wrote \(output) (\(format.rawValue)): \(card.architecture), \(card.classes.count) classes, input \(card.input), "
                + "\(model.network.parameterCount) parameters, epoch \(card.epoch), step \(card.step)")
        } catch {
            StandardError.report("export: \(error)")
            throw ExitCode.failure
        }
    }
}

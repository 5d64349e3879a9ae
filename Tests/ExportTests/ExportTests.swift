import Checkpoints
import Datasets
import Engine
import Export
import Foundation
import JSON
import Randomness
import TestSupport
import Testing

/// A model of the zoo with values a trained model could hold: the initial weights, and batch-norm
/// scales, shifts and running statistics drawn away from their initial 1, 0, 0, 1 (else the export
/// of the statistics would go untested).
func trainedLike(_ architecture: String, input: TensorShape = TensorShape(channels: 3, height: 32, width: 32),
                 classes: Int = 10, seed: UInt64 = 7) throws -> TrainedModel {
    let network = try ModelZoo.make(architecture, input: input, classes: classes, seed: seed, dropoutSites: false)
    var random = CounterRNG(seed: seed, stream: (1, 2, 3))
    let store = network.parameters
    for spec in store.table where spec.role == .scale || spec.role == .shift {
        for i in spec.range { store.values[i] = (spec.role == .scale ? 1 : 0) + 0.4 * (random.uniform() - 0.5) }
    }
    for spec in store.statisticsTable {
        let variance = spec.name.hasSuffix("running_var")
        for i in spec.range { store.statistics[i] = variance ? 0.5 + 1.5 * random.uniform() : 0.6 * (random.uniform() - 0.5) }
    }
    let card = ModelCard(architecture: architecture, classes: (0 ..< classes).map { "class \($0)" }, input: input,
                         mean: [Float](repeating: 0.5, count: input.channels), std: [Float](repeating: 0.25, count: input.channels),
                         batchNormEpsilon: 1e-5, dataset: "synthetic", configuration: ["model": .string(architecture)],
                         epoch: 2, step: 40, producer: "batchaug-dist tests")
    return TrainedModel(card: card, network: network)
}

/// A new directory for one test's files.
struct Scratch {
    let root = scratchDirectory("export")
    init() throws { try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true) }
    func url(_ name: String) -> URL { root.appendingPathComponent(name) }
}

/// `count` images of the model's input shape, standard normal, and our logits for them.
func imagesAndLogits(_ model: TrainedModel, count: Int) -> (images: [Float], logits: [[Float]]) {
    var random = CounterRNG(seed: 11, stream: (4, 5, 6))
    let images = (0 ..< count * model.network.inputShape.elements).map { _ in 2 * random.uniform() - 1 }
    var inputs = PredictionInputs()
    inputs.names = (0 ..< count).map { "image \($0)" }
    inputs.labels = [Int?](repeating: nil, count: count)
    inputs.labelNames = [String?](repeating: nil, count: count)
    inputs.images = images
    return (images, Prediction.run(model, on: inputs, chunk: 5).map(\.logits))
}

func argmax(_ logits: [Float]) -> Int { logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) }! }

/// The zoo as the exporters must handle it: every family, the deepest ResNet, CIFAR's and MNIST's geometry.
let zoo: [(String, TensorShape)] = [
    ("mlp", TensorShape(channels: 1, height: 28, width: 28)), ("cnn", TensorShape(channels: 3, height: 32, width: 32)),
    ("cnn", TensorShape(channels: 1, height: 28, width: 28)), ("resnet8", TensorShape(channels: 1, height: 28, width: 28)),
    ("resnet20", TensorShape(channels: 3, height: 32, width: 32)), ("resnet32", TensorShape(channels: 3, height: 32, width: 32)),
    ("resnet110", TensorShape(channels: 3, height: 32, width: 32)), ("wrn10-1", TensorShape(channels: 3, height: 32, width: 32)),
    ("wrn16-4", TensorShape(channels: 3, height: 32, width: 32)),
]

@Suite("export: every model of the zoo, run by onnxruntime and PyTorch, computes our logits")
struct ZooExportTests {
    @Test("ONNX in onnxruntime: the checker accepts the model; logits within 1e-4 (relative), the same classes",
          arguments: zoo.indices)
    func onnx(_ index: Int) throws {
        try compare(zoo[index], file: "model.onnx", write: ONNXExport.write, run: ExportedModelRunner.onnxRuntime)
    }

    @Test("safetensors in PyTorch: batchaug_models builds the model and loads the file with strict=True; the same logits",
          .enabled(if: ExportedModelRunner.torchPython != nil, Comment(rawValue: ExportedModelRunner.torchAbsence)),
          arguments: zoo.indices)
    func pyTorch(_ index: Int) throws {
        try compare(zoo[index], file: "model.safetensors", write: { try SafeTensorsExport.write($0, to: $1) },
                    run: ExportedModelRunner.pyTorch)
    }

    /// Exports the model with `write`, runs the file with `run` on 12 images and compares with our logits.
    func compare(_ model: (architecture: String, shape: TensorShape), file name: String, write: (TrainedModel, URL) throws -> Void,
                 run: (URL, PythonImages) throws -> PythonOutput) throws {
        let trained = try trainedLike(model.architecture, input: model.shape)
        let directory = try Scratch()
        let file = directory.url(name)
        try write(trained, file)
        let (images, ours) = imagesAndLogits(trained, count: 12)
        let input = directory.url("images.f32")
        try images.withUnsafeBytes { try Data($0).write(to: input) }
        let theirs = try run(file, .floats(input, count: 12))
        let difference = ExportedModelRunner.relativeDifference(ours, theirs.logits)
        #expect(difference <= 1e-4, "\(model): relative difference \(difference)")
        #expect(ours.map(argmax) == theirs.logits.map(argmax))
    }
}

@Suite("export: the safetensors file and its model card")
struct SafeTensorsExportTests {
    @Test("the file holds the parameters and running statistics only, and the card; it loads back to the same model")
    func roundTrip() throws {
        let model = try trainedLike("resnet8")
        let directory = try Scratch()
        let file = directory.url("model.safetensors")
        try SafeTensorsExport.write(model, to: file)
        let read = try SafeTensorsFile(contentsOf: file)
        let store = model.network.parameters
        #expect(Set(read.tensors.map(\.name)) == Set(store.table.map(\.name) + store.statisticsTable.map(\.name)))
        #expect(read.tensors.allSatisfy { !$0.name.contains("/") }, "no momentum/ or rank<r>/ tensors")
        #expect(read.metadata["format"] == ModelCard.format && read.metadata["architecture"] == "resnet8")
        #expect(read.metadata["batch_norm_epsilon"] == "1e-05")
        #expect(read.metadata["normalization_mean"] == "[0.5, 0.5, 0.5]")

        let loaded = try TrainedModel.load(exported: file.path)
        #expect(loaded.card == model.card)
        #expect(Array(loaded.network.parameters.values.buffer) == Array(store.values.buffer))
        #expect(Array(loaded.network.parameters.statistics.buffer) == Array(store.statistics.buffer))
        #expect(imagesAndLogits(loaded, count: 3).logits == imagesAndLogits(model, count: 3).logits)
    }

    @Test("the card survives its metadata: class names with quotes and non-ASCII letters, the configuration")
    func card() throws {
        var card = try trainedLike("mlp", input: TensorShape(channels: 1, height: 4, width: 4), classes: 3).card
        card.classes = ["T-shirt/top", "\"quoted\"", "größe"]
        card.mean = [0.1307]
        card.std = [0.3081]
        card.configuration = ["lr": .double(0.1), "model": "mlp", "augment": .null]
        #expect(try ModelCard(metadata: card.metadata, path: "x") == card)
    }

    @Test("a file that is not our export, or is damaged, is refused with one message naming it and the problem")
    func refusals() throws {
        let directory = try Scratch()
        let model = try trainedLike("resnet8")
        let good = directory.url("good.safetensors")
        try SafeTensorsExport.write(model, to: good)
        func message(_ path: URL) -> String {
            do {
                _ = try TrainedModel.load(exported: path.path)
                return "loaded"
            } catch { return "\(error)" }
        }
        // An ONNX file.
        let onnx = directory.url("model.onnx")
        try ONNXExport.write(model, to: onnx)
        #expect(message(onnx).contains(onnx.path) && message(onnx).contains("ONNX"), "\(message(onnx))")
        // safetensors of someone else (no card).
        let foreign = directory.url("foreign.safetensors")
        try SafeTensorsWriter(tensors: SafeTensorsExport.tensors(of: model)).write(to: foreign)
        #expect(message(foreign).contains("not a model exported by `batchaug-dist export`"), "\(message(foreign))")
        // Cards that cannot be used.
        for (key, value, expected) in [("architecture", "resnet21", "unknown model 'resnet21'"),
                                       ("format_version", "99", "newer version"),
                                       ("input_shape", "[3,32]", "is not [channels, height, width]"),
                                       ("classes", "[]", "is not a list of class names"),
                                       ("normalization_std", "[0.2, 0, 0.2]", "positive standard deviation")] {
            var metadata = model.card.metadata
            metadata[key] = value
            let file = directory.url("bad-\(key).safetensors")
            try SafeTensorsWriter(tensors: SafeTensorsExport.tensors(of: model), metadata: metadata).write(to: file)
            #expect(message(file).contains(expected) && message(file).contains(file.path), "\(key): \(message(file))")
        }
        // The card of another shape than the tensors, a tensor missing, a non-finite value.
        var metadata = model.card.metadata
        metadata["classes"] = #"["a","b"]"#
        let shape = directory.url("shape.safetensors")
        try SafeTensorsWriter(tensors: SafeTensorsExport.tensors(of: model), metadata: metadata).write(to: shape)
        #expect(message(shape).contains("does not hold a resnet8") && message(shape).contains("fc.weight"), "\(message(shape))")
        let missing = directory.url("missing.safetensors")
        try SafeTensorsWriter(tensors: SafeTensorsExport.tensors(of: model).filter { $0.name != "bn1.running_var" },
                              metadata: model.card.metadata).write(to: missing)
        #expect(message(missing).contains("bn1.running_var"), "\(message(missing))")
        model.network.parameters.values[0] = .nan
        let nan = directory.url("nan.safetensors")
        try SafeTensorsExport.write(model, to: nan)
        #expect(message(nan).contains("the values must be finite"), "\(message(nan))")
        // Truncated.
        let truncated = directory.url("truncated.safetensors")
        try Data(try Data(contentsOf: good).prefix(1000)).write(to: truncated)
        #expect(message(truncated).contains(truncated.path), "\(message(truncated))")
        #expect(message(directory.url("absent.safetensors")).contains("absent.safetensors"))
    }

    @Test("record selections: indices, inclusive ranges, all; past the end and malformed lists are refused")
    func records() throws {
        #expect(try RecordSelection(parsing: "0-2,7,3..4").indices(count: 10, what: "records") == [0, 1, 2, 7, 3, 4])
        #expect(try RecordSelection(parsing: "all").indices(count: 3, what: "records") == [0, 1, 2])
        #expect(throws: ExportError.self) { try RecordSelection(parsing: "0-9").indices(count: 5, what: "records") }
        for bad in ["", "1,", "a", "3-1", "-2", "1-2-3", "1..2..3x"] {
            #expect(throws: ExportError.self, "\(bad)") { try RecordSelection(parsing: bad) }
        }
    }

    @Test("class names: the publishers' lists in label order, numbered where there are none")
    func classNames() {
        #expect(DatasetDescriptor.of(.cifar10).classNames[3] == "cat")
        #expect(DatasetDescriptor.of(.cifar100).classNames.count == 100)
        #expect(DatasetDescriptor.of(.cifar100).classNames.last == "worm")
        #expect(DatasetDescriptor.of(.fashionMNIST).classNames[9] == "Ankle boot")
        #expect(DatasetDescriptor.of(.synthetic).classNames == (0 ..< 10).map { "class \($0)" })
    }
}

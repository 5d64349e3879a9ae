import Engine
import Foundation
import JSON

/// What a trained model is, besides its tensors: the architecture to build, the classes it tells
/// apart, the images it takes and how they are normalised, and the run it came from. `export`
/// writes it as the metadata of the safetensors file and of the ONNX model (the same keys and
/// strings in both), and `predict --model` reads it back.
///
/// Input: `input` (C×H×W) of float32 in NCHW order, each value `(pixel / 255 − mean[c]) / std[c]`
/// for 8-bit pixels, the channels in the dataset's order (RGB for CIFAR).
public struct ModelCard: Sendable, Equatable {
    /// The architecture's name in the model zoo (`resnet20`, `wrn16-4`, …).
    public var architecture: String
    /// The class names, in label order (logit k is class k).
    public var classes: [String]
    public var input: TensorShape
    /// Per-channel mean and standard deviation of pixel/255 that the input is normalised with.
    public var mean: [Float]
    public var std: [Float]
    /// The ε of every batch-norm layer: y = γ·(x − μ)/√(σ² + ε) + β.
    public var batchNormEpsilon: Float
    /// The dataset the model was trained on (`--dataset`).
    public var dataset: String
    /// The run's configuration (as `config.json` holds it).
    public var configuration: JSONValue
    /// Where training stood: epochs completed and optimiser steps taken.
    public var epoch: Int
    public var step: Int
    /// The program that trained it.
    public var producer: String

    public init(architecture: String, classes: [String], input: TensorShape, mean: [Float], std: [Float],
                batchNormEpsilon: Float, dataset: String, configuration: JSONValue, epoch: Int, step: Int, producer: String) {
        self.architecture = architecture
        self.classes = classes
        self.input = input
        self.mean = mean
        self.std = std
        self.batchNormEpsilon = batchNormEpsilon
        self.dataset = dataset
        self.configuration = configuration
        self.epoch = epoch
        self.step = step
        self.producer = producer
    }

    /// The value of `format` in the metadata of every exported file.
    public static let format = "batchaug-dist model"
    public static let formatVersion = 1

    enum Key {
        static let format = "format", formatVersion = "format_version", architecture = "architecture"
        static let classes = "classes", input = "input_shape", layout = "input_layout", mean = "normalization_mean"
        static let std = "normalization_std", normalization = "normalization", epsilon = "batch_norm_epsilon"
        static let dataset = "dataset", configuration = "configuration", epoch = "epoch", step = "step"
        static let producer = "producer"
    }

    /// The metadata strings; lists and the configuration are JSON.
    public var metadata: [String: String] {
        func json(_ value: JSONValue) -> String { (try? value.jsonText()) ?? "null" }
        // Each Float by its shortest decimal form, which reads back as the same Float.
        func floats(_ values: [Float]) -> String { "[" + values.map { "\($0)" }.joined(separator: ", ") + "]" }
        return [
            Key.format: Self.format,
            Key.formatVersion: String(Self.formatVersion),
            Key.architecture: architecture,
            Key.classes: json(.array(classes.map { .string($0) })),
            Key.input: json(.array([input.channels, input.height, input.width].map { .number($0) })),
            Key.layout: "NCHW float32, batch axis first and of any size",
            Key.mean: floats(mean),
            Key.std: floats(std),
            Key.normalization: "input[c] = (pixel[c] / 255 - normalization_mean[c]) / normalization_std[c]",
            Key.epsilon: "\(batchNormEpsilon)",
            Key.dataset: dataset,
            Key.configuration: json(configuration),
            Key.epoch: String(epoch),
            Key.step: String(step),
            Key.producer: producer,
        ]
    }

    /// Reads the card back from `metadata` (of the file at `path`, named in errors).
    public init(metadata: [String: String], path: String) throws {
        func fail(_ problem: String) -> ExportError { ExportError("\(path): \(problem)") }
        guard metadata[Key.format] == Self.format else {
            throw fail("not a model exported by `batchaug-dist export` (its metadata has no \"\(Key.format)\": "
                + "\"\(Self.format)\"); give a checkpoint directory with --checkpoint, or export one first")
        }
        guard let version = metadata[Key.formatVersion].flatMap(Int.init), version <= Self.formatVersion else {
            throw fail("written by a newer version of this program (format_version \(metadata[Key.formatVersion] ?? "missing"), "
                + "this one reads up to \(Self.formatVersion))")
        }
        func field(_ key: String) throws -> String {
            guard let value = metadata[key] else { throw fail("the metadata lacks \"\(key)\"") }
            return value
        }
        func parsed(_ key: String) throws -> JSONValue {
            guard let value = try? JSONValue(parsing: Data(try field(key).utf8)) else { throw fail("\"\(key)\" is not JSON") }
            return value
        }
        func numbers(_ key: String) throws -> [Double] {
            guard case let .array(items) = try parsed(key) else { throw fail("\"\(key)\" is not a list of numbers") }
            return try items.map { item in
                switch item {
                case let .integer(value): Double(value)
                case let .unsignedInteger(value): Double(value)
                case let .double(value) where value.isFinite: value
                default: throw fail("\"\(key)\" is not a list of numbers")
                }
            }
        }
        architecture = try field(Key.architecture)
        guard case let .array(names) = try parsed(Key.classes), !names.isEmpty else {
            throw fail("\"\(Key.classes)\" is not a list of class names")
        }
        classes = try names.map {
            guard case let .string(name) = $0 else { throw fail("\"\(Key.classes)\" is not a list of class names") }
            return name
        }
        let shape = try numbers(Key.input).map(Int.init(exactly:))
        guard shape.count == 3, let c = shape[0], let h = shape[1], let w = shape[2], c > 0, h > 0, w > 0 else {
            throw fail("\"\(Key.input)\" is not [channels, height, width]")
        }
        input = TensorShape(channels: c, height: h, width: w)
        mean = try numbers(Key.mean).map(Float.init)
        std = try numbers(Key.std).map(Float.init)
        guard mean.count == c, std.count == c, std.allSatisfy({ $0 > 0 }) else {
            throw fail("the normalisation does not give a mean and a positive standard deviation for each of the \(c) channels")
        }
        guard let epsilon = Float(try field(Key.epsilon)), epsilon > 0 else { throw fail("\"\(Key.epsilon)\" is not a positive number") }
        batchNormEpsilon = epsilon
        dataset = metadata[Key.dataset] ?? ""
        configuration = (try? parsed(Key.configuration)) ?? .null
        epoch = metadata[Key.epoch].flatMap(Int.init) ?? 0
        step = metadata[Key.step].flatMap(Int.init) ?? 0
        producer = metadata[Key.producer] ?? ""
    }
}

/// A model or checkpoint that cannot be exported or used, or an input it cannot take: one message
/// that names the file or option and what is wrong.
public struct ExportError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

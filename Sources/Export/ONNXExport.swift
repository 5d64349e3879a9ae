import Engine
import Foundation
import SwiftProtobuf

/// `export --format onnx`: the evaluation-mode network as an ONNX model (opset 17, IR version 8),
/// serialised by swift-protobuf through the messages of `proto/onnx.proto`.
///
/// One input `input`: float32 [batch, C, H, W], the batch axis symbolic; one output `logits`:
/// float32 [batch, classes]. Parameters and running statistics are initialisers under the names of
/// the safetensors export. Each layer becomes the ONNX operators that compute the same thing:
/// convolution → Conv; batch norm (+ residual) (+ ReLU) → BatchNormalization (Add) (Relu); the
/// option-A shortcut → Slice (every s-th row and column) and Pad (zero channels); global average
/// pooling → GlobalAveragePool; a linear layer → Flatten (when its input is an image) and Gemm with
/// the weight transposed; dropout → nothing (the identity in evaluation). The model card is the
/// model's `metadata_props`.
public enum ONNXExport {
    public static let opsetVersion: Int64 = 17
    /// The IR version of ONNX 1.12, the release that introduced opset 17.
    public static let irVersion: Int64 = 8
    public static let inputName = "input", outputName = "logits"

    /// The serialised model.
    public static func serialized(_ model: TrainedModel) throws -> [UInt8] {
        try GraphWriter(model.network).model(card: model.card).serializedBytes()
    }

    /// Writes the model at `url` (replacing any file there, atomically).
    public static func write(_ model: TrainedModel, to url: URL) throws {
        let bytes = try serialized(model)
        do {
            try Data(bytes).write(to: url, options: .atomic)
        } catch {
            throw ExportError("--output \(url.path): cannot be written (\(error.localizedDescription))")
        }
    }
}

/// Builds the graph layer by layer: the name of the ONNX value each slot holds, its rank (4 for
/// images, 2 after a Gemm), the nodes and the initialisers.
private struct GraphWriter {
    let network: Network
    var graph = Onnx_GraphProto()
    /// The ONNX value that holds each slot (a dropout's slot is its input's value).
    var values: [String?]
    var ranks: [Int]

    init(_ network: Network) {
        self.network = network
        let slots = network.layers.map(\.output).max().map { $0 + 1 } ?? 1
        values = [String?](repeating: nil, count: slots)
        ranks = [Int](repeating: 4, count: slots)
        values[0] = ONNXExport.inputName
    }

    func model(card: ModelCard) throws -> Onnx_ModelProto {
        var writer = self
        try writer.addLayers()
        var model = Onnx_ModelProto()
        model.irVersion = ONNXExport.irVersion
        model.producerName = "batchaug-dist"
        model.producerVersion = card.producer
        model.docString = "\(card.architecture) trained on \(card.dataset): \(card.classes.count) classes, "
            + "input \(card.input) normalised per channel, logits out"
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = ONNXExport.opsetVersion
        model.opsetImport = [opset]
        model.metadataProps = card.metadata.sorted { $0.key < $1.key }.map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
        writer.graph.name = card.architecture
        let shape = network.inputShape
        writer.graph.input = [Self.tensorValue(ONNXExport.inputName, dimensions: [nil, shape.channels, shape.height, shape.width])]
        writer.graph.output = [Self.tensorValue(ONNXExport.outputName, dimensions: [nil, network.classes])]
        model.graph = writer.graph
        return model
    }

    mutating func addLayers() throws {
        let store = network.parameters
        for layer in network.layers {
            guard let x = values[layer.inputs[0]] else { throw ExportError("layer \(layer.name) reads a slot no layer wrote") }
            let out = layer.output == network.logitsSlot ? ONNXExport.outputName : layer.name
            switch layer.operation {
            case let .convolution(weight, bias, kernel, stride, padding):
                addInitializer(weight, store.values.pointer)
                if let bias { addInitializer(bias, store.values.pointer) }
                addNode("Conv", [x, weight.name] + (bias.map { [$0.name] } ?? []), out, name: layer.name, attributes: [
                    .ints("kernel_shape", [kernel, kernel]), .ints("strides", [stride, stride]),
                    .ints("pads", [padding, padding, padding, padding]), .ints("dilations", [1, 1]), .int("group", 1),
                ])
            case let .batchNorm(scale, shift, mean, variance, epsilon, residual, relu):
                addInitializer(scale, store.values.pointer)
                addInitializer(shift, store.values.pointer)
                addInitializer(name: mean.name, shape: mean.shape, store.statistics.pointer + mean.offset)
                addInitializer(name: variance.name, shape: variance.shape, store.statistics.pointer + variance.offset)
                let normalized = residual || relu ? "\(layer.name).normalized" : out
                addNode("BatchNormalization", [x, scale.name, shift.name, mean.name, variance.name], normalized, name: layer.name,
                        attributes: [.float("epsilon", epsilon), .int("training_mode", 0)])
                var y = normalized
                if residual {
                    guard let shortcut = values[layer.inputs[1]] else { throw ExportError("layer \(layer.name) reads a slot no layer wrote") }
                    y = relu ? "\(layer.name).sum" : out
                    addNode("Add", [normalized, shortcut], y, name: "\(layer.name).add")
                }
                if relu { addNode("Relu", [y], out, name: "\(layer.name).relu") }
            case .relu:
                addNode("Relu", [x], out, name: layer.name)
            case let .add(relu):
                guard let b = values[layer.inputs[1]] else { throw ExportError("layer \(layer.name) reads a slot no layer wrote") }
                let sum = relu ? "\(layer.name).sum" : out
                addNode("Add", [x, b], sum, name: layer.name)
                if relu { addNode("Relu", [sum], out, name: "\(layer.name).relu") }
            case let .maxPool(kernel, stride, padding):
                addNode("MaxPool", [x], out, name: layer.name, attributes: Self.window(kernel, stride, padding))
            case let .averagePool(kernel, stride, padding):
                addNode("AveragePool", [x], out, name: layer.name,
                        attributes: Self.window(kernel, stride, padding) + [.int("count_include_pad", 1)])
            case .globalAveragePool:
                addNode("GlobalAveragePool", [x], out, name: layer.name)
            case let .linear(weight, bias):
                addInitializer(weight, store.values.pointer)
                addInitializer(bias, store.values.pointer)
                var flat = x
                if ranks[layer.inputs[0]] != 2 {
                    flat = "\(layer.name).flat"
                    addNode("Flatten", [x], flat, name: "\(layer.name).flatten", attributes: [.int("axis", 1)])
                }
                addNode("Gemm", [flat, weight.name, bias.name], out, name: layer.name,
                        attributes: [.float("alpha", 1), .float("beta", 1), .int("transA", 0), .int("transB", 1)])
                ranks[layer.output] = 2
            case .dropout:
                // The identity in evaluation: the slot is its input's value (the logits are never a dropout's).
                values[layer.output] = x
                ranks[layer.output] = ranks[layer.inputs[0]]
                continue
            case let .zeroPadShortcut(stride, before, after):
                var y = x
                if stride != 1 {
                    y = before + after > 0 ? "\(layer.name).subsampled" : out
                    let steps = "\(layer.name).steps"
                    addInt64Initializer("\(layer.name).starts", [0, 0])
                    addInt64Initializer("\(layer.name).ends", [Int64.max, Int64.max])
                    addInt64Initializer("\(layer.name).axes", [2, 3])
                    addInt64Initializer(steps, [Int64(stride), Int64(stride)])
                    addNode("Slice", [x, "\(layer.name).starts", "\(layer.name).ends", "\(layer.name).axes", steps], y,
                            name: "\(layer.name).slice")
                }
                if before + after > 0 {
                    addInt64Initializer("\(layer.name).pads", [0, Int64(before), 0, 0, 0, Int64(after), 0, 0])
                    addNode("Pad", [y, "\(layer.name).pads"], out, name: "\(layer.name).pad", attributes: [.string("mode", "constant")])
                } else if stride == 1 {
                    values[layer.output] = x
                    continue
                }
            }
            values[layer.output] = out
            if ranks[layer.output] != 2 { ranks[layer.output] = ranks[layer.inputs[0]] }
        }
        guard values[network.logitsSlot] == ONNXExport.outputName else {
            throw ExportError("the network's logits are not computed by a layer of their own")
        }
    }

    enum Attribute {
        case int(String, Int), ints(String, [Int]), float(String, Float), string(String, String)

        var proto: Onnx_AttributeProto {
            var attribute = Onnx_AttributeProto()
            switch self {
            case let .int(name, value):
                (attribute.name, attribute.type, attribute.i) = (name, .int, Int64(value))
            case let .ints(name, values):
                (attribute.name, attribute.type, attribute.ints) = (name, .ints, values.map(Int64.init))
            case let .float(name, value):
                (attribute.name, attribute.type, attribute.f) = (name, .float, value)
            case let .string(name, value):
                (attribute.name, attribute.type, attribute.s) = (name, .string, Data(value.utf8))
            }
            return attribute
        }
    }

    static func window(_ kernel: Int, _ stride: Int, _ padding: Int) -> [Attribute] {
        [.ints("kernel_shape", [kernel, kernel]), .ints("strides", [stride, stride]),
         .ints("pads", [padding, padding, padding, padding]), .int("ceil_mode", 0)]
    }

    mutating func addNode(_ operator: String, _ inputs: [String], _ output: String, name: String, attributes: [Attribute] = []) {
        var node = Onnx_NodeProto()
        node.opType = `operator`
        node.name = name
        node.input = inputs
        node.output = [output]
        node.attribute = attributes.map(\.proto)
        graph.node.append(node)
    }

    mutating func addInitializer(_ spec: ParameterSpec, _ base: UnsafeMutablePointer<Float>) {
        addInitializer(name: spec.name, shape: spec.shape, base + spec.offset)
    }

    /// A float32 initialiser of `shape` copied from `values`, as little-endian raw data.
    mutating func addInitializer(name: String, shape: [Int], _ values: UnsafeMutablePointer<Float>) {
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.dims = shape.map(Int64.init)
        // Memory order is little-endian here (module Checkpoints refuses to build otherwise).
        tensor.rawData = Data(bytes: values, count: shape.reduce(1, *) * MemoryLayout<Float>.size)
        graph.initializer.append(tensor)
    }

    mutating func addInt64Initializer(_ name: String, _ values: [Int64]) {
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        tensor.dims = [Int64(values.count)]
        tensor.rawData = values.map(\.littleEndian).withUnsafeBytes { Data($0) }
        graph.initializer.append(tensor)
    }

    /// A float32 tensor value; a nil dimension is the symbolic batch axis.
    static func tensorValue(_ name: String, dimensions: [Int?]) -> Onnx_ValueInfoProto {
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.shape.dim = dimensions.map { size in
            var dimension = Onnx_TensorShapeProto.Dimension()
            if let size { dimension.dimValue = Int64(size) } else { dimension.dimParam = "batch" }
            return dimension
        }
        var value = Onnx_ValueInfoProto()
        value.name = name
        value.type.tensorType = tensor
        return value
    }
}

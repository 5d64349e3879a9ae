import Foundation

/// What an exported model computed in Python: the logits of every image (row-major, images ×
/// classes) and, for CIFAR records, their labels and the fraction the model got wrong.
public struct PythonOutput: Sendable {
    public let logits: [[Float]]
    public let labels: [Int]
    public let wrong: Int
}

public struct PythonUnavailable: Error, CustomStringConvertible {
    public let description: String
}

/// Where the images come from: raw float32 NCHW values already preprocessed (`floats`), or a
/// CIFAR binary file whose records Python normalises itself from the model's metadata, as a user
/// of the exported file would (`cifar`).
public enum PythonImages: Sendable {
    case floats(URL, count: Int)
    case cifar(URL)
}

/// Runs an exported model in Python: `onnxruntime` on an ONNX file, or PyTorch on the safetensors
/// file through `python/batchaug_models.py` (built, then loaded with `strict=True`).
public enum ExportedModelRunner {
    /// The repository's python/ folder.
    public static let pythonFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("python")

    /// A Python with torch, numpy and safetensors: `$BATCHAUG_TORCH_PYTHON` if set, else python3;
    /// nil when neither imports them (CI has no PyTorch: the PyTorch checks skip there).
    public static let torchPython: String? = {
        var candidates = ["python3"]
        if let given = ProcessInfo.processInfo.environment["BATCHAUG_TORCH_PYTHON"] { candidates.insert(given, at: 0) }
        return candidates.first { python in
            (try? runProcess("/usr/bin/env", [python, "-c", "import torch, numpy, safetensors"], timeout: 120))?.status == 0
        }
    }()

    public static let torchAbsence = "no Python with torch, numpy and safetensors (python3, or $BATCHAUG_TORCH_PYTHON): "
        + "skipping the PyTorch check (CI installs no PyTorch)"

    static let script = #"""
        import json, sys
        import numpy as np
        kind, model_path, source, output = sys.argv[1:5]

        def card_of(metadata):
            return {key: json.loads(metadata[key]) for key in ["input_shape", "normalization_mean", "normalization_std"]}

        if kind == "onnx":
            import onnx, onnxruntime
            model = onnx.load(model_path)
            onnx.checker.check_model(model, full_check=True)
            card = card_of({p.key: p.value for p in model.metadata_props})
            session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
            run = lambda x: session.run(["logits"], {"input": x})[0]
        else:
            import torch
            sys.path.insert(0, sys.argv[5])
            import batchaug_models
            net, card = batchaug_models.load(model_path)
            def run(x):
                with torch.no_grad():
                    return net(torch.from_numpy(x)).numpy()

        c, h, w = card["input_shape"]
        labels = []
        if source.startswith("floats:"):
            _, path, count = source.split(":")
            x = np.fromfile(path, np.float32).reshape(int(count), c, h, w)
        else:
            records = np.fromfile(source[len("cifar:"):], np.uint8).reshape(-1, 1 + c * h * w)
            labels = records[:, 0].astype(int).tolist()
            pixels = records[:, 1:].reshape(-1, c, h, w).astype(np.float32)
            mean = np.asarray(card["normalization_mean"], np.float32)[None, :, None, None]
            std = np.asarray(card["normalization_std"], np.float32)[None, :, None, None]
            x = ((pixels / 255 - mean) / std).astype(np.float32)
        logits = np.concatenate([run(x[i:i + 64]) for i in range(0, len(x), 64)])
        wrong = int((logits.argmax(1) != np.asarray(labels)).sum()) if labels else 0
        with open(output, "w") as f:
            json.dump({"logits": logits.astype(float).tolist(), "labels": labels, "wrong": wrong}, f)
        """#

    /// The model's outputs in onnxruntime (python3; `launch/test` installs onnxruntime and onnx).
    public static func onnxRuntime(_ model: URL, images: PythonImages) throws -> PythonOutput {
        try run(python: "python3", kind: "onnx", model: model, images: images)
    }

    /// The model's outputs in PyTorch (`torchPython`).
    public static func pyTorch(_ model: URL, images: PythonImages) throws -> PythonOutput {
        guard let python = torchPython else { throw PythonUnavailable(description: torchAbsence) }
        return try run(python: python, kind: "torch", model: model, images: images)
    }

    static func run(python: String, kind: String, model: URL, images: PythonImages) throws -> PythonOutput {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("batchaug-python-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: output) }
        let source = switch images {
        case let .floats(url, count): "floats:\(url.path):\(count)"
        case let .cifar(url): "cifar:\(url.path)"
        }
        let outcome = try runProcess("/usr/bin/env", [python, "-c", script, kind, model.path, source, output.path, pythonFolder.path],
                                     timeout: 600)
        guard outcome.status == 0, !outcome.timedOut else {
            throw PythonUnavailable(description: "\(python) could not run \(model.lastPathComponent) in \(kind) "
                + "(launch/test installs onnxruntime and onnx): \(outcome)")
        }
        struct Decoded: Decodable {
            let logits: [[Double]]
            let labels: [Int]
            let wrong: Int
        }
        let decoded = try JSONDecoder().decode(Decoded.self, from: Data(contentsOf: output))
        return PythonOutput(logits: decoded.logits.map { $0.map(Float.init) }, labels: decoded.labels, wrong: decoded.wrong)
    }

    /// The largest relative difference of two sets of logits, image by image: max |a − b| over
    /// the classes divided by max |a| (the scale of that image's logits).
    public static func relativeDifference(_ a: [[Float]], _ b: [[Float]]) -> Float {
        precondition(a.count == b.count, "\(a.count) against \(b.count) images")
        return zip(a, b).map { x, y in
            precondition(x.count == y.count, "\(x.count) against \(y.count) classes")
            let scale = x.map(abs).max() ?? 0
            return zip(x, y).map { abs($0 - $1) }.max().map { $0 / max(scale, .leastNormalMagnitude) } ?? 0
        }.max() ?? 0
    }
}

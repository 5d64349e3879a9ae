import Checkpoints
import Foundation
import JSON
import TestSupport
import Testing

/// Whether `python3` can import the reference implementation (the `safetensors` package) and numpy.
private let pythonHasSafetensors: Bool = {
    guard let outcome = try? runProcess("/usr/bin/env", ["python3", "-c", "import safetensors, numpy"], timeout: 60) else {
        return false
    }
    return outcome.status == 0
}()

/// Runs a Python script (no standard input, at most 60 s) and returns its standard output.
private func python(_ script: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    let outcome = try runProcess("/usr/bin/env", ["python3", "-c", script], timeout: 60)
    #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)", sourceLocation: sourceLocation)
    return outcome.stdout
}

/// Our files against the reference implementation, Python's `safetensors` package: it reads what
/// we write, we read what it writes, and for the same tensors both write the same bytes.
@Suite("safetensors: cross-check with Python's safetensors",
       .enabled(if: pythonHasSafetensors,
                "python3 cannot import safetensors and numpy (launch/test installs them with pip); skipping the cross-check"))
struct PythonCrossCheckTests {
    /// Tensors of every dtype the training service writes, and edge cases: a scalar, an empty
    /// tensor, names with dots, slashes and non-ASCII letters; as Swift values and as Python code.
    struct Sample {
        let name: String
        let numpyType: String
        let shape: [Int]
        let values: [String]  // Python literals
        let tensor: NamedTensor
    }

    static func samples() throws -> [Sample] {
        func sample<T: SafeTensorsElement & CustomStringConvertible>(_ name: String, _ numpyType: String, _ shape: [Int], _ values: [T]) throws
            -> Sample {
            Sample(name: name, numpyType: numpyType, shape: shape, values: values.map(\.description),
                   tensor: try NamedTensor(name: name, shape: shape, values: values))
        }
        return try [
            sample("layer1.0.conv1.weight", "float32", [2, 3], [Float(0.1), -2.5, 3e-8, 1e30, 0, -0.75]),
            sample("momentum/layer1.0.conv1.weight", "float32", [2, 3], [Float(1), 2, 3, 4, 5, 6].map { -$0 / 3 }),
            sample("layer1.0.bn1.running_var", "float64", [2], [0.1, 1e-300]),
            sample("step", "int64", [], [Int64(-9_000_000_000_000_000_000)]),
            sample("größe", "uint8", [3], [UInt8(0), 128, 255]),
            sample("counts", "int32", [2, 1], [Int32(-1), Int32.max]),
            sample("empty", "float32", [0, 2], [Float]()),
        ]
    }

    static let metadata = ["epoch": "3", "note": "ü \"quoted\"\nline"]

    /// Python code that builds the same dict of numpy arrays as `samples()`.
    static func pythonTensors() throws -> String {
        let entries = try samples().map { s in
            "\(pythonString(s.name)): np.array([\(s.values.joined(separator: ", "))], dtype=np.\(s.numpyType)).reshape(\(s.shape))"
        }
        return "{" + entries.joined(separator: ", ") + "}"
    }

    static func pythonString(_ string: String) -> String {
        "json.loads(" + "'" + (try! JSONValue.string(string).jsonText()).replacingOccurrences(of: "\\", with: "\\\\") + "')"
    }

    static var pythonMetadata: String {
        "{" + metadata.sorted { $0.key < $1.key }.map { "\(pythonString($0.key)): \(pythonString($0.value))" }.joined(separator: ", ") + "}"
    }

    @Test("Python reads our file: names, dtypes, shapes, values and metadata")
    func pythonReadsOurs() throws {
        let directory = try TemporaryDirectory()
        let url = directory.url("ours.safetensors")
        try SafeTensorsWriter(tensors: Self.samples().map(\.tensor), metadata: Self.metadata).write(to: url)
        let output = try python("""
            import json, numpy as np
            from safetensors import safe_open
            from safetensors.numpy import load_file
            tensors = load_file(\(Self.pythonString(url.path)))
            with safe_open(\(Self.pythonString(url.path)), framework="np") as f:
                metadata = f.metadata()
            print(json.dumps({"metadata": metadata, "tensors": {name: {"dtype": str(a.dtype), "shape": list(a.shape),
                "values": a.ravel().tolist()} for name, a in tensors.items()}}))
            """)
        let seen = try JSONValue(parsing: Data(output.utf8)).objectValue ?? [:]
        #expect(seen["metadata"] == .object(Self.metadata.mapValues(JSONValue.string)))
        let tensors = seen["tensors"]?.objectValue ?? [:]
        #expect(Set(tensors.keys) == Set(try Self.samples().map(\.name)))
        for sample in try Self.samples() {
            let entry = tensors[sample.name]?.objectValue ?? [:]
            #expect(entry["dtype"] == .string(sample.numpyType), "\(sample.name)")
            #expect(entry["shape"] == .array(sample.shape.map { .integer(Int64($0)) }), "\(sample.name)")
            #expect(entry["values"] == .array(try Self.jsonValues(of: sample.tensor)), "\(sample.name)")
        }
    }

    /// The values as Python's `tolist()` gives them in JSON: floats widened to double, integers.
    static func jsonValues(of tensor: NamedTensor) throws -> [JSONValue] {
        func number(_ value: Double) -> JSONValue {
            // JSON does not tell 1.0 from 1: compare in the canonical form JSONValue decodes to.
            if value.rounded() == value, let exact = Int64(exactly: value) { .integer(exact) } else { .double(value) }
        }
        switch tensor.dtype {
        case .float32: return try tensor.values(as: Float.self).map { number(Double($0)) }
        case .float64: return try tensor.values(as: Double.self).map(number)
        case .int64: return try tensor.values(as: Int64.self).map { .integer($0) }
        case .int32: return try tensor.values(as: Int32.self).map { .integer(Int64($0)) }
        case .uint8: return try tensor.values(as: UInt8.self).map { .integer(Int64($0)) }
        default: throw CheckpointError(path: "", .invalidTensor(tensor: tensor.name, reason: "no JSON form in this test"))
        }
    }

    @Test("we read Python's file, and it is byte for byte the file we write for the same tensors")
    func weReadPythons() throws {
        let directory = try TemporaryDirectory()
        let url = directory.url("python.safetensors")
        // The reference writer orders __metadata__ keys at random (a hash map), so the bytes are
        // compared on a file with a single metadata key.
        let single = ["epoch": "3"]
        let singleURL = directory.url("python-single.safetensors")
        _ = try python("""
            import json, numpy as np
            from safetensors.numpy import save_file
            save_file(\(Self.pythonTensors()), \(Self.pythonString(url.path)), metadata=\(Self.pythonMetadata))
            save_file(\(Self.pythonTensors()), \(Self.pythonString(singleURL.path)), metadata={"epoch": "3"})
            """)
        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.metadata == Self.metadata)
        for sample in try Self.samples() {
            #expect(try file.tensor(named: sample.name) == sample.tensor)
        }
        let ours = try SafeTensorsWriter(tensors: Self.samples().map(\.tensor), metadata: single).serialized()
        #expect(try directory.read("python-single.safetensors") == ours)
    }

    @Test("Python opens a checkpoint: its tensor file loads and its SHA-256 is the one in checkpoint.json")
    func pythonOpensCheckpoint() throws {
        let output = try TemporaryDirectory()
        let info = CheckpointInfo(epoch: 5, step: 500, ranks: 2, model: "tiny", configuration: .object(["lr": .double(0.1)]),
                                  toolVersion: "test")
        let checkpoint = CheckpointStore.directory(in: output.url)
        try CheckpointStore.write(directory: checkpoint, info: info, tensors: Self.samples().map(\.tensor))
        let printed = try python("""
            import hashlib, json, os
            from safetensors.numpy import load_file
            d = \(Self.pythonString(checkpoint.path))
            info = json.load(open(os.path.join(d, "checkpoint.json")))
            data = open(os.path.join(d, info["tensor_file"]), "rb").read()
            tensors = load_file(os.path.join(d, info["tensor_file"]))
            print(hashlib.sha256(data).hexdigest() == info["tensor_file_sha256"], len(tensors), info["epoch"], info["complete"])
            """)
        #expect(printed.trimmingCharacters(in: .whitespacesAndNewlines) == "True \(try Self.samples().count) 5 True")
    }
}

import Checkpoints
import Foundation
import Testing

/// The writer's bytes against the format written out by hand, and round trips through the reader.
@Suite("safetensors: layout and round trip")
struct SafeTensorsFormatTests {
    @Test("the exact bytes of a small file: length, JSON header in layout order, space padding, data")
    func exactLayout() throws {
        var writer = SafeTensorsWriter(metadata: ["m": "x"])
        try writer.add(NamedTensor(name: "w", shape: [2], values: [Float(1), -2]))
        try writer.add(NamedTensor(name: "n", shape: [], values: [Int64(7)]))

        // Built from the spec: the 8-byte tensor (I64) comes before the 4-byte one (F32) whatever
        // the order they were added in; the 132-byte header is padded with 4 spaces to 136 = 0x88.
        let header = #"{"__metadata__":{"m":"x"},"# + #""n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"#
            + #""w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"# + "    "
        let expected: [UInt8] = [0x88, 0, 0, 0, 0, 0, 0, 0] + Array(header.utf8)
            + [7, 0, 0, 0, 0, 0, 0, 0]                          // Int64 7
            + [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0]  // Float 1, -2
        #expect(writer.serialized() == expected)

        let directory = try TemporaryDirectory()
        let digest = try writer.write(to: directory.url("small.safetensors"))
        #expect(try directory.read("small.safetensors") == expected)
        #expect(digest.bytes == expected.count && digest.sha256 == SHA256.hexDigest(of: expected))
    }

    @Test("without metadata there is no __metadata__ key; an empty file is {} and 6 spaces")
    func noMetadata() throws {
        #expect(SafeTensorsWriter().serialized() == [8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8))
        let one = try SafeTensorsWriter(tensors: [NamedTensor(name: "a", dtype: .uint8, shape: [1], bytes: [9])])
        let header = #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#  // 53 bytes + 3 spaces
        #expect(one.serialized() == [56, 0, 0, 0, 0, 0, 0, 0] + Array((header + "   ").utf8) + [9])
    }

    @Test("strings in the header are escaped as JSON; non-ASCII names are stored as UTF-8")
    func escaping() throws {
        let writer = try SafeTensorsWriter(tensors: [NamedTensor(name: "é\"\\", dtype: .uint8, shape: [0], bytes: [])],
                                           metadata: ["k": "a\nb\tc\u{1}d/"])
        let bytes = writer.serialized()
        let text = String(decoding: bytes[8...], as: UTF8.self)
        #expect(text.hasPrefix(#"{"__metadata__":{"k":"a\nb\tc\u0001d/"},"é\"\\":{"dtype":"U8","shape":[0],"#))
        let file = try SafeTensorsFile(parsing: bytes, path: "escaping")
        #expect(file.metadata == ["k": "a\nb\tc\u{1}d/"])
        #expect(file.tensors.map(\.name) == ["é\"\\"])
    }

    @Test("every tensor starts at a multiple of its element size")
    func alignment() throws {
        let writer = try SafeTensorsWriter(tensors: [
            NamedTensor(name: "byte", dtype: .uint8, shape: [3], bytes: [1, 2, 3]),
            NamedTensor(name: "float", shape: [3], values: [Float(1), 2, 3]),
            NamedTensor(name: "double", shape: [1], values: [1.5]),
        ], metadata: ["odd": "x"])
        let bytes = writer.serialized()
        let file = try SafeTensorsFile(parsing: bytes, path: "aligned")
        #expect(file.tensors.map(\.name) == ["double", "float", "byte"])
        let headerEnd = 8 + Int(bytes[0]) + Int(bytes[1]) << 8
        #expect(headerEnd % 8 == 0)
        var offset = headerEnd
        for tensor in file.tensors {
            #expect(offset % tensor.dtype.size == 0, "\(tensor.name) at \(offset)")
            offset += tensor.byteCount
        }
        #expect(offset == bytes.count)
    }

    @Test("round trip of F32, F64, I64, U8, scalars, empty tensors and metadata, through a file")
    func roundTrip() throws {
        let weights: [Float] = (0 ..< 54).map { Float($0) * 0.25 - 3 }
        let tensors: [NamedTensor] = try [
            NamedTensor(name: "layer1.0.conv1.weight", shape: [2, 3, 3, 3], values: weights),
            NamedTensor(name: "layer1.0.bn1.running_mean", shape: [2], values: [Float.pi, -.infinity]),
            NamedTensor(name: "momentum/layer1.0.conv1.weight", shape: [2, 3, 3, 3], values: weights.map { -$0 }),
            NamedTensor(name: "lr", shape: [], values: [Double(0.1)]),
            NamedTensor(name: "step", shape: [1], values: [Int64.max]),
            NamedTensor(name: "mask", dtype: .uint8, shape: [2, 2], bytes: [0, 1, 254, 255]),
            NamedTensor(name: "empty", shape: [0, 4], values: [Float]()),
        ]
        let metadata = ["epoch": "3", "note": "ünïcode"]
        let directory = try TemporaryDirectory()
        try SafeTensorsWriter(tensors: tensors, metadata: metadata).write(to: directory.url("t.safetensors"))

        let file = try SafeTensorsFile(contentsOf: directory.url("t.safetensors"))
        #expect(file.metadata == metadata)
        #expect(Set(file.tensors.map(\.name)) == Set(tensors.map(\.name)))
        for tensor in tensors { #expect(try file.tensor(named: tensor.name) == tensor) }
        #expect(try file.tensor(named: "layer1.0.conv1.weight").values(as: Float.self) == weights)
        #expect(try file.tensor(named: "lr").values(as: Double.self) == [0.1])
        #expect(try file.tensor(named: "step").values(as: Int64.self) == [Int64.max])
        #expect(try file.tensor(named: "mask").values(as: UInt8.self) == [0, 1, 254, 255])
        #expect(try file.tensor(named: "empty").values(as: Float.self) == [])
        #expect(try file.tensor(named: "empty").elementCount == 0)
        #expect(try file.tensor(named: "lr").elementCount == 1)
    }

    @Test("a tensor made from a slice of a flat buffer, and copied back into one")
    func flatBuffer() throws {
        let flat: [Float] = (0 ..< 10).map(Float.init)
        let tensor = try flat.withUnsafeBufferPointer {
            try NamedTensor(name: "fc.bias", shape: [4], copying: UnsafeBufferPointer(rebasing: $0[3 ..< 7]))
        }
        let file = try SafeTensorsFile(parsing: SafeTensorsWriter(tensors: [tensor]).serialized(), path: "flat")
        var restored = [Float](repeating: -1, count: 10)
        try restored.withUnsafeMutableBufferPointer {
            try file.tensor(named: "fc.bias").copy(into: UnsafeMutableBufferPointer(rebasing: $0[5 ..< 9]))
        }
        #expect(restored == [-1, -1, -1, -1, -1, 3, 4, 5, 6, -1])
    }

    @Test("typed access checks the dtype and the destination's element count, naming the file")
    func typedAccessChecks() throws {
        let file = try SafeTensorsFile(parsing: SafeTensorsWriter(tensors: [NamedTensor(name: "w", shape: [3], values: [Float(1), 2, 3])])
            .serialized(), path: "/some/model.safetensors")
        let tensor = try file.tensor(named: "w")
        let dtype = checkpointError { _ = try tensor.values(as: Double.self) }
        #expect(dtype?.problem == .dtypeMismatch(tensor: "w", expected: .float64, actual: .float32))
        var small = [Float](repeating: 0, count: 2)
        let count = checkpointError { try small.withUnsafeMutableBufferPointer { try tensor.copy(into: $0) } }
        #expect(count?.problem == .elementCountMismatch(tensor: "w", expected: 2, actual: 3))
        #expect(count?.description.hasPrefix("/some/model.safetensors: ") == true)
        let shape = checkpointError { try tensor.checkShape([1, 3]) }
        #expect(shape?.problem == .shapeMismatch(tensor: "w", expected: [1, 3], actual: [3]))
        let missing = checkpointError { _ = try file.tensor(named: "v") }
        #expect(missing == CheckpointError(path: "/some/model.safetensors", .tensorMissing(tensor: "v")))
    }

    @Test("the writer refuses what it could not write faithfully")
    func invalidTensors() throws {
        func reason(_ body: () throws -> Void) -> String? {
            guard case .invalidTensor(_, let reason)? = checkpointError(body)?.problem else { return nil }
            return reason
        }
        #expect(reason { _ = try NamedTensor(name: "w", dtype: .float32, shape: [2], bytes: [0, 0, 0]) }?.contains("needs 8") == true)
        #expect(reason { _ = try NamedTensor(name: "w", shape: [-1], values: [Float]()) }?.contains("negative") == true)
        #expect(reason { _ = try NamedTensor(name: "", shape: [1], values: [Float(0)]) }?.contains("empty") == true)
        #expect(reason { _ = try NamedTensor(name: "__metadata__", shape: [1], values: [Float(0)]) }?.contains("reserved") == true)
        #expect(reason { _ = try NamedTensor(name: "w", shape: [Int.max, 2], values: [Float(0)]) }?.contains("too large") == true)
        let w = try NamedTensor(name: "w", shape: [1], values: [Float(0)])
        #expect(reason { _ = try SafeTensorsWriter(tensors: [w, w]) }?.contains("already") == true)
    }
}

import Checkpoints
import Foundation
import Testing

/// Every kind of damaged or malformed file is refused with the problem and the file's path.
@Suite("safetensors: corrupt files are refused")
struct SafeTensorsValidationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let label: String
        let bytes: [UInt8]
        let problem: CheckpointError.Problem
        var testDescription: String { label }
    }

    /// A valid two-tensor file (I64 [1] then F32 [2]; 16 data bytes) to damage.
    static let valid: [UInt8] = try! SafeTensorsWriter(tensors: [
        NamedTensor(name: "a", shape: [2], values: [Float(1), 2]),
        NamedTensor(name: "b", shape: [1], values: [Int64(5)]),
    ]).serialized()

    static let f32x2 = #"{"dtype":"F32","shape":[2],"#

    static let cases: [Case] = [
        Case(label: "truncated in the data", bytes: Array(valid.dropLast(3)),
             problem: .offsetsOutOfRange(tensor: "a", begin: 8, end: 16, dataBytes: 13)),
        Case(label: "truncated in the header", bytes: Array(valid.prefix(40)),
             problem: .headerPastEnd(headerLength: UInt64(valid[0]), fileBytes: 40)),
        Case(label: "shorter than the length prefix", bytes: [1, 0, 0], problem: .tooShort(bytes: 3)),
        Case(label: "empty file", bytes: [], problem: .tooShort(bytes: 0)),
        Case(label: "header length past the end", bytes: [0xE8, 0x03, 0, 0, 0, 0, 0, 0] + Array("{}".utf8),
             problem: .headerPastEnd(headerLength: 1000, fileBytes: 10)),
        Case(label: "absurd header length", bytes: [0, 0, 0, 0, 0, 1, 0, 0] + Array("{}".utf8),
             problem: .headerTooLarge(length: 1 << 40, limit: SafeTensors.maximumHeaderLength)),
        Case(label: "header not an object", bytes: safetensorsFile(header: "[1, 2]", data: []),
             problem: .badHeader(reason: "not a JSON object")),
        Case(label: "metadata not strings", bytes: safetensorsFile(header: #"{"__metadata__":{"epoch":3}}"#, data: []),
             problem: .badMetadata(reason: "\"epoch\" is the integer 3, not a string")),
        Case(label: "overlapping offsets",
             bytes: safetensorsFile(header: #"{"a":\#(f32x2)"data_offsets":[0,8]},"b":\#(f32x2)"data_offsets":[4,12]}}"#,
                                    data: bytes([1, 2, 3])),
             problem: .overlap(tensor: "b", previous: "a")),
        Case(label: "two tensors on the same bytes",
             bytes: safetensorsFile(header: #"{"a":\#(f32x2)"data_offsets":[0,8]},"b":\#(f32x2)"data_offsets":[0,8]}}"#,
                                    data: bytes([1, 2])),
             problem: .overlap(tensor: "b", previous: "a")),
        Case(label: "offsets past the data", bytes: safetensorsFile(header: #"{"a":\#(f32x2)"data_offsets":[8,16]}}"#, data: bytes([1, 2])),
             problem: .offsetsOutOfRange(tensor: "a", begin: 8, end: 16, dataBytes: 8)),
        Case(label: "a gap before a tensor",
             bytes: safetensorsFile(header: #"{"a":\#(f32x2)"data_offsets":[4,12]}}"#, data: bytes([0, 1, 2])),
             problem: .gap(tensor: "a", begin: 4, expected: 0)),
        Case(label: "bytes after the last tensor", bytes: safetensorsFile(header: #"{"a":\#(f32x2)"data_offsets":[0,8]}}"#, data: bytes([1, 2, 3])),
             problem: .trailingBytes(count: 4)),
        Case(label: "byte count not shape × dtype size",
             bytes: safetensorsFile(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: bytes([1, 2])),
             problem: .byteCountMismatch(tensor: "a", shape: [3], dtype: .float32, expected: 12, actual: 8)),
        Case(label: "unknown dtype", bytes: safetensorsFile(header: #"{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#, data: bytes([1, 2])),
             problem: .unknownDType(tensor: "a", dtype: "F33")),
        Case(label: "sub-byte dtype", bytes: safetensorsFile(header: #"{"a":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}"#, data: [0]),
             problem: .unknownDType(tensor: "a", dtype: "F4")),
        Case(label: "offsets reversed", bytes: safetensorsFile(header: #"{"a":\#(f32x2)"data_offsets":[8,0]}}"#, data: bytes([1, 2])),
             problem: .badTensorEntry(tensor: "a", reason: "\"data_offsets\" is not [begin, end] with 0 <= begin <= end")),
        Case(label: "negative dimension", bytes: safetensorsFile(header: #"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: bytes([1, 2])),
             problem: .badTensorEntry(tensor: "a", reason: "the shape is not a list of non-negative integers")),
        Case(label: "no data_offsets", bytes: safetensorsFile(header: #"{"a":{"dtype":"F32","shape":[2]}}"#, data: bytes([1, 2])),
             problem: .badTensorEntry(tensor: "a", reason: "no \"data_offsets\" array")),
        Case(label: "entry not an object", bytes: safetensorsFile(header: #"{"a":3}"#, data: []),
             problem: .badTensorEntry(tensor: "a", reason: "the integer 3, not an object")),
    ]

    @Test("refused with the problem and the file's path", arguments: cases)
    func refused(_ example: Case) throws {
        let directory = try TemporaryDirectory()
        let url = directory.url("damaged.safetensors")
        try directory.write("damaged.safetensors", example.bytes)
        let error = checkpointError { _ = try SafeTensorsFile(contentsOf: url) }
        #expect(error?.problem == example.problem)
        #expect(error?.path == url.path)
        #expect(error?.description.hasPrefix(url.path + ": ") == true)
    }

    @Test("bad JSON and bad UTF-8 are refused as a bad header")
    func badJSON() throws {
        for header in [Array(#"{"a": "#.utf8), [0x7B, 0xFF, 0xFE, 0x7D]] {
            let file = [UInt8(header.count), 0, 0, 0, 0, 0, 0, 0] + header
            let error = checkpointError { _ = try SafeTensorsFile(parsing: file, path: "x.safetensors") }
            guard case .badHeader(let reason)? = error?.problem else {
                Issue.record("expected badHeader, got \(String(describing: error))")
                continue
            }
            #expect(reason.hasPrefix("not valid UTF-8 JSON"))
            #expect(error?.description.hasPrefix("x.safetensors: bad safetensors header") == true)
        }
    }

    @Test("a missing file is named as missing")
    func missingFile() throws {
        let directory = try TemporaryDirectory()
        let error = checkpointError { _ = try SafeTensorsFile(contentsOf: directory.url("nothing.safetensors")) }
        #expect(error == CheckpointError(path: directory.url("nothing.safetensors").path, .missing))
    }

    @Test("the valid file behind the damaged ones loads")
    func validLoads() throws {
        let file = try SafeTensorsFile(parsing: Self.valid, path: "valid")
        #expect(file.tensors.map(\.name) == ["b", "a"])
    }
}

import Foundation
import TensorBoard
import TestSupport
import Testing

@Suite("TensorBoard event files")
struct TensorBoardTests {
    @Test("CRC-32C matches the published check values; masking is TensorFlow's")
    func crc() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        let crc: UInt32 = 0xE306_9283
        #expect(CRC32C.masked(Array("123456789".utf8)) == ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8)
    }

    @Test("records frame and unframe; an unfinished last record is left out, a damaged one is an error")
    func framing() throws {
        let a: [UInt8] = [1, 2, 3], b = [UInt8](repeating: 7, count: 300)
        let file = TFRecord.framed(a) + TFRecord.framed(b)
        #expect(file.count == 3 + 300 + 2 * 16)
        #expect(try TFRecord.payloads(in: file) == [a, b])
        #expect(try TFRecord.payloads(in: Array(file.dropLast(5))) == [a])
        #expect(try TFRecord.payloads(in: Array(file.prefix(9))) == [])
        #expect(try TFRecord.payloads(in: Array(file.prefix(14))) == [])
        var damaged = file
        damaged[13] ^= 1
        #expect(throws: EventFileError.self) { try TFRecord.payloads(in: damaged) }
    }

    @Test("events encode and decode: scalars, file version, session start")
    func events() throws {
        let samples = [
            Event(wallTime: 1.7e9 + 0.25, step: 0, content: .fileVersion("brain.Event:2")),
            Event(wallTime: 5, step: 1 << 40, content: .scalars([.init(tag: "train/loss", value: 2.5), .init(tag: "ü/é", value: -1e-30)])),
            Event(wallTime: 6, step: 12, content: .sessionStart),
        ]
        for event in samples { #expect(try Event(serialized: event.serialized()) == event) }
    }

    @Test("events of kinds we do not write read as other content; summary values that are not scalars are left out")
    func foreignContent() throws {
        // Bytes as TensorFlow writes them, by field number and wire type (key = field << 3 | type).
        let image: [UInt8] = [0x0A, 3] + Array("img".utf8) + [0x22, 0]                      // tag, image {}
        let scalar: [UInt8] = [0x0A, 1] + Array("a".utf8) + [0x15] + withUnsafeBytes(of: Float(0.75).bitPattern.littleEndian, Array.init)
        let summary: [UInt8] = [0x0A, UInt8(image.count)] + image + [0x0A, UInt8(scalar.count)] + scalar
        let event = try Event(serialized: [0x10, 5, 0x2A, UInt8(summary.count)] + summary)  // step 5, summary
        #expect(event.step == 5 && event.content == .scalars([.init(tag: "a", value: 0.75)]))
        let graph = try Event(serialized: [0x09] + withUnsafeBytes(of: 2.5.bitPattern.littleEndian, Array.init) + [0x22, 2, 1, 2])
        #expect(graph.wallTime == 2.5 && graph.content == .other)                             // graph_def
        let stop = try Event(serialized: [0x10, 9, 0x3A, 2, 0x08, 2])                        // session_log STOP
        #expect(stop.step == 9 && stop.content == .other)
        #expect(throws: EventFileError.self) { try Event(serialized: [0x2A, 9, 0x0A]) }      // truncated
    }

    @Test("a new writer's file comes after the existing ones in name order; retain drops scalars and keeps the rest")
    func writerAndRetain() throws {
        let directory = scratchDirectory("tb-retain")
        let first = try EventWriter(directory: directory)
        try first.write(scalars: [("a", 1), ("epoch/b", 2)], step: 1)
        try first.write(scalars: [("a", 3)], step: 2)
        let second = try EventWriter(directory: directory)
        #expect(EventFiles.list(in: directory) == [first.url, second.url])
        #expect(first.url.lastPathComponent.wholeMatch(of: /events\.out\.tfevents\.\d{10}\..+/) != nil)

        try EventFiles.retain(in: directory) { step, tag in step < 2 && tag != "epoch/b" }
        let events = try EventFiles.read(first.url)
        #expect(events.map(\.content) == [.fileVersion("brain.Event:2"), .scalars([.init(tag: "a", value: 1)])])
        // An unfinished record at the end is dropped by the rewrite.
        let handle = try FileHandle(forWritingTo: second.url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(TFRecord.framed([1, 2, 3, 4]).prefix(10)))
        try handle.close()
        try EventFiles.retain(in: directory) { _, _ in true }
        // The file-version record alone (its wall time is not zero, which proto3 would leave out).
        #expect(try Data(contentsOf: second.url).count == TFRecord.framed(
            Event(wallTime: 1, step: 0, content: .fileVersion("brain.Event:2")).serialized()).count)
    }

    @Test("Python's tensorboard reads back every scalar with its step and value")
    func pythonReadsScalars() throws {
        let directory = scratchDirectory("tb-python")
        let writer = try EventWriter(directory: directory)
        let values: [Double] = [2.302585, 0.5, -3.25, 1e-8, 6.02e23, 0]
        for (index, value) in values.enumerated() {
            try writer.write(scalars: [("train/loss", value), ("épreuve/<tag> & co", Double(index))], step: index * 1000 + 1)
        }
        try writer.write(scalars: [("train/loss", 1)], step: 1 << 40)
        let read = try tensorboardScalars(in: directory)
        #expect(Set(read.keys) == ["train/loss", "épreuve/<tag> & co"])
        let expected = values.map { Double(Float($0)) } + [1]
        #expect(read["train/loss"]?.map(\.value) == expected)
        #expect(read["train/loss"]?.map(\.step) == [1, 1001, 2001, 3001, 4001, 5001, 1 << 40])
        #expect(read["épreuve/<tag> & co"]?.map(\.value) == [0, 1, 2, 3, 4, 5])
    }

    @Test("after a restart from step 3: the rewritten old file and the new one read as one history, steps increasing")
    func restart() throws {
        for rewrite in [true, false] {
            let directory = scratchDirectory("tb-restart")
            let interrupted = try EventWriter(directory: directory)
            for step in 1 ... 6 { try interrupted.write(scalars: [("loss", Double(step))], step: step) }
            // The restart continues from the checkpoint at step 3. With the old file rewritten, any
            // reader sees each step once; without, TensorBoard purges from the session start on.
            if rewrite { try EventFiles.retain(in: directory) { step, _ in step <= 3 } }
            let resumed = try EventWriter(directory: directory)
            try resumed.write(Event(wallTime: Date().timeIntervalSince1970, step: 4, content: .sessionStart))
            for step in 4 ... 6 { try resumed.write(scalars: [("loss", Double(10 * step))], step: step) }
            let read = try tensorboardScalars(in: directory)
            #expect(read["loss"] == [1, 2, 3, 40, 50, 60].enumerated().map { ReadScalar(step: $0 + 1, value: $1) },
                    "rewritten: \(rewrite)")
        }
    }
}

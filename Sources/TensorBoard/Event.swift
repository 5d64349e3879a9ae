import Foundation

/// The part of TensorFlow's `Event` protocol buffer (tensorflow/core/util/event.proto) that scalar
/// logging needs: wall time, step, and one of the file version, a summary of scalar values
/// (`Summary.Value.simple_value`), or a session-log status.
public struct Event: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        /// The first record of every file, "brain.Event:2".
        case fileVersion(String)
        /// Tagged scalars at this step.
        case scalars([Scalar])
        /// SessionLog START: readers drop what they hold of steps at or after this event's step
        /// (what TensorFlow writes when a job restarts from a checkpoint).
        case sessionStart
        /// A field this writer does not produce (kept by `EventFile.read`, never written).
        case other
    }

    public struct Scalar: Sendable, Equatable {
        public var tag: String
        public var value: Float
        public init(tag: String, value: Float) {
            self.tag = tag
            self.value = value
        }
    }

    public var wallTime: Double
    public var step: Int64
    public var content: Content

    public init(wallTime: Double, step: Int64, content: Content) {
        self.wallTime = wallTime
        self.step = step
        self.content = content
    }

    // Field numbers of event.proto and summary.proto.
    enum Field {
        static let wallTime = 1, step = 2, fileVersion = 3, summary = 5, sessionLog = 7
        static let summaryValue = 1, valueTag = 1, valueSimpleValue = 2, sessionLogStatus = 1
        static let sessionLogStart: UInt64 = 1
    }

    /// The protocol-buffer encoding.
    public func serialized() -> [UInt8] {
        var message = ProtobufWriter()
        message.double(Field.wallTime, wallTime)
        message.varint(Field.step, UInt64(bitPattern: step))
        switch content {
        case let .fileVersion(version):
            message.bytes(Field.fileVersion, Array(version.utf8))
        case let .scalars(scalars):
            var summary = ProtobufWriter()
            for scalar in scalars {
                var value = ProtobufWriter()
                value.bytes(Field.valueTag, Array(scalar.tag.utf8))
                value.float(Field.valueSimpleValue, scalar.value)
                summary.bytes(Field.summaryValue, value.bytes)
            }
            message.bytes(Field.summary, summary.bytes)
        case .sessionStart:
            var log = ProtobufWriter()
            log.varint(Field.sessionLogStatus, Field.sessionLogStart)
            message.bytes(Field.sessionLog, log.bytes)
        case .other:
            break
        }
        return message.bytes
    }

    /// Decodes what `serialized()` writes; other fields are skipped (content `.other` when the event
    /// has none of the three kinds).
    public init(serialized bytes: [UInt8]) throws {
        var reader = ProtobufReader(bytes)
        (wallTime, step, content) = (0, 0, .other)
        var scalars: [Scalar]? = nil
        while let (field, wire) = try reader.key() {
            switch (field, wire) {
            case (Field.wallTime, .fixed64): wallTime = Double(bitPattern: try reader.fixed64())
            case (Field.step, .varint): step = Int64(bitPattern: try reader.varint())
            case (Field.fileVersion, .lengthDelimited): content = .fileVersion(String(decoding: try reader.bytes(), as: UTF8.self))
            case (Field.summary, .lengthDelimited):
                var summary = ProtobufReader(try reader.bytes())
                var found = scalars ?? []
                while let (field, wire) = try summary.key() {
                    guard field == Field.summaryValue, wire == .lengthDelimited else { try summary.skip(wire); continue }
                    var value = ProtobufReader(try summary.bytes())
                    var tag = "", simple: Float? = nil
                    while let (field, wire) = try value.key() {
                        switch (field, wire) {
                        case (Field.valueTag, .lengthDelimited): tag = String(decoding: try value.bytes(), as: UTF8.self)
                        case (Field.valueSimpleValue, .fixed32): simple = Float(bitPattern: try value.fixed32())
                        default: try value.skip(wire)
                        }
                    }
                    if let simple { found.append(Scalar(tag: tag, value: simple)) }
                }
                scalars = found
                content = .scalars(found)
            case (Field.sessionLog, .lengthDelimited):
                var log = ProtobufReader(try reader.bytes())
                while let (field, wire) = try log.key() {
                    if field == Field.sessionLogStatus, wire == .varint, try log.varint() == Field.sessionLogStart {
                        content = .sessionStart
                    } else if !(field == Field.sessionLogStatus && wire == .varint) {
                        try log.skip(wire)
                    }
                }
            default: try reader.skip(wire)
            }
        }
    }
}

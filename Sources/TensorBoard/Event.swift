/// The part of TensorFlow's `Event` protocol buffer (tensorflow/core/util/event.proto) that scalar
/// logging needs: wall time, step, and one of the file version, a summary of scalar values
/// (`Summary.Value.simple_value`), or a session-log status. Encoded and decoded by swift-protobuf
/// through the messages of `proto/tensorboard_event.proto` (`tensorboard_event.pb.swift`).
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

    /// The protocol-buffer encoding (TensorBoard's `Event` message).
    public func serialized() -> [UInt8] {
        var message = Tensorboard_Event()
        message.wallTime = wallTime
        message.step = step
        switch content {
        case let .fileVersion(version):
            message.fileVersion = version
        case let .scalars(scalars):
            message.summary.value = scalars.map { scalar in
                var value = Tensorboard_Summary.Value()
                value.tag = scalar.tag
                value.simpleValue = scalar.value
                return value
            }
        case .sessionStart:
            message.sessionLog.status = .start
        case .other:
            break
        }
        // Serialising a message of only our fields cannot fail (no required fields, no Any).
        return (try? message.serializedBytes()) ?? []
    }

    /// Decodes an event: the three kinds above, anything else as `.other`. A summary's values that
    /// are not simple scalars (images, histograms, tensors) are left out of `.scalars`.
    public init(serialized bytes: [UInt8]) throws {
        let message: Tensorboard_Event
        do {
            message = try Tensorboard_Event(serializedBytes: bytes)
        } catch {
            throw EventFileError(problem: "not an Event protocol buffer (\(error))")
        }
        wallTime = message.wallTime
        step = message.step
        switch message.what {
        case let .fileVersion(version)?: content = .fileVersion(version)
        case let .summary(summary)?:
            content = .scalars(summary.value.compactMap { value in
                guard case let .simpleValue(simple)? = value.value else { return nil }
                return Scalar(tag: value.tag, value: simple)
            })
        case let .sessionLog(log)? where log.status == .start: content = .sessionStart
        default: content = .other
        }
    }
}

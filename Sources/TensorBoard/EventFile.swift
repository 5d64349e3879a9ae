import Foundation

/// TFRecord framing, as TensorFlow's event files use it: per record the payload length (UInt64,
/// little-endian), the masked CRC-32C of those 8 bytes, the payload, and the masked CRC-32C of the
/// payload.
public enum TFRecord {
    public static func framed(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 16)
        let length = withUnsafeBytes(of: UInt64(payload.count).littleEndian) { Array($0) }
        out += length
        withUnsafeBytes(of: CRC32C.masked(length).littleEndian) { out += $0 }
        out += payload
        withUnsafeBytes(of: CRC32C.masked(payload).littleEndian) { out += $0 }
        return out
    }

    /// The payloads of the complete records in `data`; an incomplete last record (a writer stopped
    /// mid-write) is left out. A checksum that does not match is an error.
    public static func payloads(in data: [UInt8]) throws -> [[UInt8]] {
        var payloads: [[UInt8]] = []
        var position = 0
        func word<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
            (0 ..< MemoryLayout<T>.size).reversed().reduce(T(0)) { $0 << 8 | T(data[offset + $1]) }
        }
        while data.count - position >= 12 {
            let lengthBytes = data[position ..< position + 8]
            guard word(UInt32.self, at: position + 8) == CRC32C.masked(lengthBytes) else {
                throw EventFileError(problem: "record at byte \(position): the length's checksum does not match")
            }
            let length = word(UInt64.self, at: position), remaining = data.count - position
            guard remaining >= 16, length <= UInt64(remaining - 16) else { break }
            let start = position + 12, end = start + Int(length)
            guard word(UInt32.self, at: end) == CRC32C.masked(data[start ..< end]) else {
                throw EventFileError(problem: "record at byte \(position): the data's checksum does not match")
            }
            payloads.append(Array(data[start ..< end]))
            position = end + 4
        }
        return payloads
    }
}

public struct EventFileError: Error, CustomStringConvertible, Sendable {
    public let problem: String
    public var description: String { problem }
}

/// The event files of one TensorBoard run directory.
public enum EventFiles {
    public static let prefix = "events.out.tfevents."

    /// The event files in `directory`, in the order TensorBoard reads them (by name).
    public static func list(in directory: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix(prefix) }.sorted().map { directory.appendingPathComponent($0) }
    }

    /// The events of one file, in order (an incomplete last record is left out).
    public static func read(_ url: URL) throws -> [Event] {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw EventFileError(problem: "\(url.path): cannot be read (\(error.localizedDescription))")
        }
        do {
            return try TFRecord.payloads(in: [UInt8](data)).map { try Event(serialized: $0) }
        } catch {
            throw EventFileError(problem: "\(url.path): \(error)")
        }
    }

    /// Rewrites every event file of `directory` (each atomically) keeping only the scalars for
    /// which `keep(step, tag)` holds and the session starts for which `keep(step, nil)` holds; an
    /// event left without scalars goes, the file-version record stays. Files that do not change
    /// are not touched.
    public static func retain(in directory: URL, where keep: (Int64, String?) -> Bool) throws {
        for url in list(in: directory) {
            let events = try read(url)
            var kept: [Event] = []
            for event in events {
                switch event.content {
                case .fileVersion, .other: kept.append(event)
                case .sessionStart: if keep(event.step, nil) { kept.append(event) }
                case let .scalars(scalars):
                    let remaining = scalars.filter { keep(event.step, $0.tag) }
                    if !remaining.isEmpty { kept.append(Event(wallTime: event.wallTime, step: event.step, content: .scalars(remaining))) }
                }
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? nil
            let rewritten = kept.flatMap { TFRecord.framed($0.serialized()) }
            guard kept != events || rewritten.count != size else { continue }
            do {
                try Data(rewritten).write(to: url, options: .atomic)
            } catch {
                throw EventFileError(problem: "\(url.path): cannot be rewritten (\(error.localizedDescription))")
            }
        }
    }
}

/// Appends events to a new file `events.out.tfevents.<seconds>.<host>` in a directory, one
/// `write` call per record so that a reader (or a crash) never sees half of one. The seconds in the
/// name are later than those of every event file already there, so TensorBoard, which reads the
/// files in name order, reads this one last.
public final class EventWriter {
    public let url: URL
    private let handle: FileHandle

    public init(directory: URL, now: Date = Date()) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw EventFileError(problem: "\(directory.path): cannot create the directory (\(error.localizedDescription))")
        }
        let existing = EventFiles.list(in: directory).compactMap {
            Int($0.lastPathComponent.dropFirst(EventFiles.prefix.count).prefix { $0.isNumber })
        }
        let seconds = max(Int(now.timeIntervalSince1970), (existing.max() ?? 0) + 1)
        url = directory.appendingPathComponent("\(EventFiles.prefix)\(seconds).\(Self.hostName())")
        guard FileManager.default.createFile(atPath: url.path, contents: nil),
              let handle = try? FileHandle(forWritingTo: url) else {
            throw EventFileError(problem: "\(url.path): cannot be created")
        }
        self.handle = handle
        try write(Event(wallTime: now.timeIntervalSince1970, step: 0, content: .fileVersion("brain.Event:2")))
    }

    deinit { try? handle.close() }

    public func write(_ event: Event) throws {
        do {
            try handle.write(contentsOf: TFRecord.framed(event.serialized()))
        } catch {
            throw EventFileError(problem: "\(url.path): cannot be written (\(error.localizedDescription))")
        }
    }

    /// One event holding the scalars, at `step`, stamped with the current time.
    public func write(scalars: [(tag: String, value: Double)], step: Int) throws {
        guard !scalars.isEmpty else { return }
        try write(Event(wallTime: Date().timeIntervalSince1970, step: Int64(step),
                        content: .scalars(scalars.map { Event.Scalar(tag: $0.tag, value: Float($0.value)) })))
    }

    /// The host name as a file-name component.
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name.replacingOccurrences(of: "/", with: "_")
    }
}

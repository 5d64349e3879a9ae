import Foundation

/// One gradient-norm measurement on disk: `DIR/probe/epoch<P>-seed<k>.csv`, one row per batch
/// measured (`arm,copies,batch_size,batch,grad_norm`), so that every figure of the summary can be
/// recomputed from the files, and a study interrupted after a measurement does not repeat it.
/// The measurement's wall time goes on a comment line at the top.
public struct ProbeFile: Sendable {
    public var epochs: Int
    public var seed: UInt64
    public var seconds: Double
    public var measurements: [GradientNormProbe.Measurement]

    public static let header = "arm,copies,batch_size,batch,grad_norm"

    public func text() -> String {
        var lines = ["# gradient norms at fixed parameters after \(epochs) epochs, seed \(seed), \(seconds) seconds",
                     Self.header]
        for m in measurements {
            for (batch, norm) in m.norms.enumerated() {
                lines.append("\(m.arm),\(m.copies),\(m.batchSize),\(batch),\(norm)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Written whole or not at all (a temporary file renamed), so that its presence means done.
    public func write(to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text().utf8).write(to: url, options: .atomic)
    }

    public init(epochs: Int, seed: UInt64, seconds: Double, measurements: [GradientNormProbe.Measurement]) {
        self.epochs = epochs
        self.seed = seed
        self.seconds = seconds
        self.measurements = measurements
    }

    /// Reads a file `text()` wrote; errors name the file and line.
    public init(contentsOf url: URL, epochs: Int, seed: UInt64) throws {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw StudyError("cannot read \(url.path): \(error.localizedDescription)")
        }
        self.epochs = epochs
        self.seed = seed
        seconds = 0
        measurements = []
        var sawHeader = false
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            if line.hasPrefix("#") {
                if let range = line.range(of: #", ([0-9.eE+-]+) seconds"#, options: .regularExpression) {
                    seconds = Double(line[range].dropFirst(2).dropLast(8)) ?? 0
                }
                continue
            }
            if !sawHeader {
                guard line == Self.header else { throw StudyError("\(url.path) line \(index + 1): expected '\(Self.header)'") }
                sawHeader = true
                continue
            }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 5, let copies = Int(fields[1]), let batchSize = Int(fields[2]),
                  let norm = Double(fields[4]), norm.isFinite else {
                throw StudyError("\(url.path) line \(index + 1): expected arm,copies,batch_size,batch,grad_norm, got '\(line)'")
            }
            let arm = String(fields[0])
            if measurements.last?.arm != arm {
                measurements.append(.init(arm: arm, copies: copies, batchSize: batchSize, norms: []))
            }
            measurements[measurements.count - 1].norms.append(norm)
        }
        guard sawHeader else { throw StudyError("\(url.path): no measurements") }
    }
}

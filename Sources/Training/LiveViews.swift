import Collectives
import Formatting
import Foundation
import RunReport
import TensorBoard

/// What rank 0 keeps up to date for people watching a run: `report.html` with its SVG charts,
/// rewritten (atomically) from the run's files after every epoch, and TensorBoard scalars in
/// `tensorboard/`, with the global step as the step. A failure here warns once and never stops
/// the training.
///
/// Resuming: every process writes a new event file (named after the ones before, so TensorBoard
/// reads it last), starting with a SessionLog START at its first step, which tells a TensorBoard
/// that is watching to drop what it holds from that step on. The older files are also rewritten
/// without the events the interrupted process wrote after its checkpoint, so that any reader sees
/// each step once, in order — as results.csv and metrics.jsonl are truncated.
final class LiveViews {
    static let tensorboardDirectory = "tensorboard"

    let directory: URL
    private var events: EventWriter?
    private var warned: Set<String> = []

    /// `resumedAt`: the global step of the checkpoint the run continues from, and whether it lies
    /// inside an epoch (whose partial figures results.csv no longer holds).
    init(directory: URL, resumedAt: (step: Int, insideEpoch: Bool)?) {
        self.directory = directory
        let tensorboard = directory.appendingPathComponent(Self.tensorboardDirectory)
        let last = resumedAt?.step ?? 0
        do {
            if let resumedAt {
                try EventFiles.retain(in: tensorboard) { step, tag in
                    step < last || step == last && !(resumedAt.insideEpoch && tag?.hasPrefix("epoch/") == true)
                }
            }
            let writer = try EventWriter(directory: tensorboard)
            try writer.write(Event(wallTime: Date().timeIntervalSince1970, step: Int64(last + 1), content: .sessionStart))
            events = writer
        } catch {
            warn("tensorboard", "TensorBoard files are not written: \(error)")
        }
        updateReport()
    }

    /// Writes the record's TensorBoard scalars (the metrics whose table entry has a tag for its
    /// kind, when not empty); after an epoch, the report too.
    func record(_ record: MetricRecord) {
        let scalars = Metric.table.compactMap { metric -> (tag: String, value: Double)? in
            guard let tag = metric.value(in: record.kind)?.tensorBoard, let value = record[metric.name] else { return nil }
            return (tag, value)
        }
        write(scalars, step: record.step)
        if record.kind == .epoch { updateReport() }
    }

    private func write(_ scalars: [(tag: String, value: Double)], step: Int) {
        guard let events else { return }
        do {
            try events.write(scalars: scalars, step: step)
        } catch {
            warn("tensorboard", "TensorBoard files are no longer written: \(error)")
            self.events = nil
        }
    }

    private func updateReport() {
        do {
            try RunReport.write(runs: [directory], to: directory.appendingPathComponent(RunFiles.report))
        } catch {
            warn("report", "\(RunFiles.report) is not updated: \(error)")
        }
    }

    private func warn(_ kind: String, _ message: String) {
        guard warned.insert(kind).inserted else { return }
        StandardError.report("warning: \(message)")
    }
}

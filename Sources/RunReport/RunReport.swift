import Foundation
import Plotting

/// An HTML page over one or more runs: five charts (validation error, training loss, gradient norm,
/// learning rate, throughput) with one curve per run, a table of results, and each run's
/// configuration. The page needs no network and no JavaScript (inline SVG); each chart is also
/// written as an SVG file beside it.
public enum RunReport {
    /// A chart of the report and the name its SVG file ends with.
    public struct Figure: Sendable {
        public let slug: String
        public let chart: Chart
    }

    /// Reads the runs, then writes `output` (HTML) and one `<name>-<chart>.svg` per chart beside it,
    /// each file atomically; nothing is written when a run cannot be read. Returns the files written,
    /// the HTML first.
    @discardableResult
    public static func write(runs directories: [URL], to output: URL, title: String? = nil) throws -> [URL] {
        try write(runs: try directories.map(Run.init(directory:)), to: output, title: title)
    }

    @discardableResult
    public static func write(runs: [Run], to output: URL, title: String? = nil) throws -> [URL] {
        let directory = output.deletingLastPathComponent()
        let stem = output.deletingPathExtension().lastPathComponent
        let figures = self.figures(for: runs)
        let files = figures.map { directory.appendingPathComponent("\(stem)-\($0.slug).svg") }
        let drawings = figures.map { $0.chart.svg() }
        let page = html(runs: runs, title: title ?? defaultTitle(for: runs), figures: figures, drawings: drawings,
                        files: files.map(\.lastPathComponent))
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ReportError(file: directory.path, problem: "cannot create the directory (\(error.localizedDescription))")
        }
        for (drawing, file) in zip(drawings, files) {
            try save("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + drawing, to: file)
        }
        try save(page, to: output)
        return [output] + files
    }

    static func save(_ text: String, to url: URL) throws {
        do {
            try Data(text.utf8).write(to: url, options: .atomic)
        } catch {
            throw ReportError(file: url.path, problem: "cannot be written (\(error.localizedDescription))")
        }
    }

    // MARK: - Charts

    /// The five charts, one series per run in the order given, labelled as `labels(for:)` does.
    public static func figures(for runs: [Run]) -> [Figure] {
        let names = labels(for: runs)
        func series(_ points: (Run) -> [Point]) -> [Series] {
            zip(runs, names).map { Series(label: $1, points: points($0)) }
        }
        func perEpoch(_ value: @escaping (EpochResult) -> Double?) -> [Series] {
            series { run in run.epochs.compactMap { row in value(row).map { Point(x: Double(row.epoch), y: $0) } } }
        }
        let withoutSteps = runs.filter { $0.steps.isEmpty }.map(\.name)
        var gradientNote = "means over each logged interval (\(RunFiles.metrics))"
        if !withoutSteps.isEmpty {
            gradientNote = (withoutSteps.count == runs.count ? "" : gradientNote + "; ")
                + "epoch means from \(RunFiles.results) for \(withoutSteps.joined(separator: ", ")) (no logged steps)"
        }
        let gradient = series { run in
            run.steps.isEmpty
                ? run.epochs.compactMap { row in row.step.flatMap { step in row.gradientNorm.map { Point(x: Double(step), y: $0) } } }
                : run.steps.compactMap { record in record.gradientNorm.map { Point(x: Double(record.step), y: $0) } }
        }
        let loss = perEpoch(\.trainLoss), learningRate = perEpoch(\.learningRate)
        func scale(_ series: [Series]) -> ScaleKind { .suggested(for: series.flatMap { $0.points.map(\.y) }) }
        func axis(_ name: String, _ kind: ScaleKind) -> String { kind == .logarithmic ? name + " (log scale)" : name }
        let lossScale = scale(loss), gradientScale = scale(gradient), learningRateScale = scale(learningRate)
        return [
            Figure(slug: "validation-error", chart: Chart(
                title: "Validation error", xLabel: "epoch", yLabel: "test-set error", yStyle: .percent,
                series: perEpoch(\.validationError))),
            Figure(slug: "train-loss", chart: Chart(
                title: "Training loss", xLabel: "epoch", yLabel: axis("cross-entropy", lossScale), yScale: lossScale,
                note: "mean over the epoch's steps", series: loss)),
            Figure(slug: "gradient-norm", chart: Chart(
                title: "Gradient L2 norm", xLabel: "step", yLabel: axis("‖g‖₂", gradientScale), yScale: gradientScale,
                note: gradientNote, series: gradient)),
            Figure(slug: "learning-rate", chart: Chart(
                title: "Learning rate", xLabel: "epoch", yLabel: axis("learning rate", learningRateScale),
                yScale: learningRateScale, note: "at the epoch's last step", series: learningRate)),
            Figure(slug: "images-per-second", chart: Chart(
                title: "Throughput", xLabel: "epoch", yLabel: "images/s, all ranks",
                note: "augmented copies included", series: perEpoch(\.imagesPerSecond))),
        ]
    }

    // MARK: - Naming runs

    /// Options that say where a run wrote or how often it logged, not what it computed.
    static let bookkeepingKeys: Set<String> = ["output", "resume", "data-dir", "log-every", "checkpoint-every", "eval-every"]

    /// The settings of each run, with the number of ranks, as "key" → text.
    static func settings(_ run: Run) -> [String: String] {
        var values = run.configuration.filter { !bookkeepingKeys.contains($0.key) }
        if let ranks = run.job["ranks"] { values["ranks"] = ranks }
        return values
    }

    /// The keys whose values differ between the runs (among the runs that have them), sorted.
    public static func differingKeys(_ runs: [Run]) -> [String] {
        let all = runs.map(settings)
        let keys = Set(all.flatMap(\.keys))
        return keys.filter { key in Set(all.compactMap { $0[key] }).count > 1 }.sorted()
    }

    /// A legend label per run: the settings in which the runs differ ("copies=4, seed=2"), or the
    /// directory name when there is one run, no difference, or the labels would coincide.
    public static func labels(for runs: [Run]) -> [String] {
        let keys = differingKeys(runs)
        var labels = runs.map { run -> String in
            let values = settings(run)
            return keys.compactMap { key in values[key].map { "\(key)=\($0)" } }.joined(separator: ", ")
        }
        let repeated = Set(labels.filter { label in labels.filter { $0 == label }.count > 1 })
        for index in labels.indices where labels[index].isEmpty || repeated.contains(labels[index]) {
            labels[index] = labels[index].isEmpty ? runs[index].name : "\(labels[index]) (\(runs[index].name))"
        }
        return labels
    }

    static func defaultTitle(for runs: [Run]) -> String {
        runs.count == 1 ? "Run \(runs[0].name)" : "\(runs.count) runs"
    }

    // MARK: - Page

    /// The page, with each figure's SVG drawing inline and a link to its file.
    static func html(runs: [Run], title: String, figures: [Figure], drawings: [String], files: [String]) -> String {
        let labels = labels(for: runs)
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(Markup.escaped(title))</title>
            <style>
            body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 24px; color: #222; background: #fff; }
            h1 { font-size: 22px; margin: 0 0 6px 0; }
            p.context { color: #555; margin: 0 0 18px 0; }
            .charts { display: flex; flex-wrap: wrap; gap: 16px; }
            figure.chart { margin: 0; border: 1px solid #ddd; padding: 4px; }
            figure.chart figcaption { font-size: 12px; text-align: right; }
            table { border-collapse: collapse; margin-top: 8px; font-size: 13px; }
            th, td { border-bottom: 1px solid #ddd; padding: 5px 9px; text-align: right; vertical-align: top; }
            th { background: #f4f4f4; }
            td.name, th.name, td.config { text-align: left; }
            .swatch { display: inline-block; width: 14px; height: 4px; margin-right: 6px; vertical-align: middle; }
            pre { font-size: 12px; background: #f7f7f7; padding: 8px; white-space: pre-wrap; word-break: break-all; max-width: 720px; }
            </style>
            </head>
            <body>
            <h1>\(Markup.escaped(title))</h1>

            """
        page += "<p class=\"context\">\(Markup.escaped(context(runs)))</p>\n<section class=\"charts\">\n"
        for ((figure, drawing), file) in zip(zip(figures, drawings), files) {
            page += "<figure class=\"chart\" data-chart=\"\(figure.slug)\">\n\(drawing)"
            page += "<figcaption><a href=\"\(Markup.escaped(file))\">\(Markup.escaped(file))</a></figcaption>\n</figure>\n"
        }
        page += "</section>\n<h2>Runs</h2>\n" + table(runs: runs, labels: labels) + "</body>\n</html>\n"
        return page
    }

    /// What the runs share: the main settings that do not differ, and where they are.
    static func context(_ runs: [Run]) -> String {
        let differing = Set(differingKeys(runs))
        let main = ["model", "dataset", "epochs", "batch-size", "copies", "ghost-batch-size", "augment", "lr", "regime", "ranks"]
        let first = runs.first.map(settings) ?? [:]
        let shared = main.filter { !differing.contains($0) && !(first[$0] ?? "").isEmpty }.map { "\($0)=\(first[$0]!)" }
        let inProgress = runs.contains { run in
            guard let planned = plannedEpochs(run) else { return false }
            return run.epochs.count < planned
        }
        return (shared.isEmpty ? "" : "Common settings: " + shared.joined(separator: ", ") + ". ")
            + (inProgress ? "Some runs have not finished: their curves stop at the last epoch written. " : "")
            + "Directories: " + runs.map(\.path).joined(separator: ", ") + "."
    }

    static func plannedEpochs(_ run: Run) -> Int? {
        (run.job["epochs_after_adaptation"] ?? run.configuration["epochs"]).flatMap { Int($0) }
    }

    static func table(runs: [Run], labels: [String]) -> String {
        var rows = "<table class=\"runs\">\n<tr><th class=\"name\">run</th><th>final val. error</th><th>best val. error</th>"
            + "<th>epochs</th><th>steps</th><th>images through the network</th><th>wall time</th><th>ranks</th>"
            + "<th class=\"name\">configuration</th></tr>\n"
        for (index, run) in runs.enumerated() {
            let summary = RunSummary(run)
            let color = Palette.style(index).color
            func cell(_ text: String) -> String { "<td>\(Markup.escaped(text))</td>" }
            rows += "<tr data-run=\"\(Markup.escaped(run.name))\"><td class=\"name\"><span class=\"swatch\" style=\"background: "
                + "\(color)\"></span>\(Markup.escaped(labels[index]))</td>"
            rows += cell(summary.finalError.map { "\(percent($0.error)) (epoch \($0.epoch))" } ?? "—")
            rows += cell(summary.bestError.map { "\(percent($0.error)) (epoch \($0.epoch))" } ?? "—")
            rows += cell(plannedEpochs(run).map { run.epochs.count < $0 ? "\(run.epochs.count) of \($0)" : "\(run.epochs.count)" }
                         ?? "\(run.epochs.count)")
            rows += cell(summary.steps.map(String.init) ?? "—")
            rows += cell(summary.images.map(count) ?? "—")
            rows += cell(summary.seconds.map(duration) ?? "—")
            rows += cell((run.job["ranks"] ?? "—") + (run.job["simulated"] == "true" ? " (simulated)" : ""))
            rows += "<td class=\"config\"><details><summary>\(Markup.escaped(run.path))</summary>\n"
            if let text = run.configurationText {
                rows += "<p>Repeat the run:</p><pre>\(Markup.escaped(command(run)))</pre>"
                    + "<p>config.json:</p><pre>\(Markup.escaped(text))</pre>"
            } else {
                rows += "<p>This run has no config.json.</p>"
            }
            rows += "</details></td></tr>\n"
        }
        return rows + "</table>\n"
    }

    /// `batchaug-dist train` with every option of the run's configuration as a flag.
    static func command(_ run: Run) -> String {
        var words = ["batchaug-dist", "train"]
        for key in run.configuration.keys.sorted() where !["resume"].contains(key) {
            let value = run.configuration[key]!
            switch value {
            case "null", "false": continue
            case "true": words.append("--\(key)")
            default: words += ["--\(key)", shellQuoted(value)]
            }
        }
        return words.joined(separator: " ") + "\n# or: batchaug-dist train --config "
            + shellQuoted((run.path as NSString).appendingPathComponent(RunFiles.configuration))
    }

    static func shellQuoted(_ word: String) -> String {
        let plain = word.unicodeScalars.allSatisfy {
            CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._,:/=+-@%".unicodeScalars.contains($0)
        }
        return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// The figures of a run's table row.
struct RunSummary {
    var finalError: (epoch: Int, error: Double)?
    var bestError: (epoch: Int, error: Double)?
    var steps: Int?
    /// M·B per step summed over the steps (augmented copies included).
    var images: Double?
    /// Seconds spent in the epochs (evaluation and start-up excluded).
    var seconds: Double?

    init(_ run: Run) {
        let evaluated = run.epochs.compactMap { row in row.validationError.map { (row.epoch, $0) } }.filter { $0.1.isFinite }
        finalError = evaluated.last
        bestError = evaluated.min { $0.1 < $1.1 }
        steps = run.epochs.last?.step
        var total = 0.0, previous = 0
        var known = !run.epochs.isEmpty
        for row in run.epochs {
            guard let step = row.step, let copies = row.copies, let batch = row.batchSize else {
                known = false
                break
            }
            total += Double((step - previous) * copies * batch)
            previous = step
        }
        images = known ? total : nil
        let times = run.epochs.compactMap(\.epochSeconds)
        seconds = times.count == run.epochs.count && !times.isEmpty ? times.reduce(0, +) : nil
    }
}

func percent(_ fraction: Double) -> String { String(format: "%.2f%%", fraction * 100) }

/// 1234567 → "1.23M".
func count(_ value: Double) -> String {
    for (scale, suffix) in [(1e9, "G"), (1e6, "M"), (1e3, "k")] where value >= scale {
        return String(format: "%.3g", value / scale) + suffix
    }
    return String(format: "%.0f", value)
}

/// "1h02m", "3m07s", "12s".
func duration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    if s >= 3600 { return "\(s / 3600)h" + String(format: "%02dm", s % 3600 / 60) }
    if s >= 60 { return "\(s / 60)m" + String(format: "%02ds", s % 60) }
    return "\(s)s"
}

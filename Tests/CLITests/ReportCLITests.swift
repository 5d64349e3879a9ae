import Foundation
import TestSupport
import Testing

/// Three short runs of the same small model with M = 1, 2 and 4, made once for the tests below:
/// 4 steps of 500 samples (inside epoch 0, so one row each), a step record every 2 steps.
private let copiesRuns: Result<[URL], any Error> = Result {
    let base = scratchDirectory("copies")
    return try [1, 2, 4].map { copies -> URL in
        let output = base.appendingPathComponent("m\(copies)")
        let outcome = try runBatchAugDist(ranks: nil, ["train", "--model", "mlp", "--batch-size", "500", "--max-steps", "4",
                                                       "--log-every", "2", "--copies", "\(copies)", "--output", output.path],
                                          timeout: 300)
        guard outcome.status == 0 else { throw ProcessFailure(description: "\(outcome)") }
        return output
    }
}

struct ProcessFailure: Error, CustomStringConvertible {
    let description: String
}

/// The sections of a report page, one per chart, as `data-chart` → its markup.
func chartSections(_ html: String) -> [String: String] {
    var sections: [String: String] = [:]
    for part in html.components(separatedBy: "<figure class=\"chart\" data-chart=\"").dropFirst() {
        let name = String(part.prefix { $0 != "\"" })
        sections[name] = part.components(separatedBy: "</figure>").first ?? ""
    }
    return sections
}

func occurrences(of needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

let chartNames = ["validation-error", "train-loss", "gradient-norm", "learning-rate", "images-per-second"]

@Suite("report and TensorBoard files of real runs", .serialized)
struct ReportCLITests {
    @Test("report A B C over runs of M = 1, 2, 4: one page, five charts of three curves, the table, five SVG files")
    func threeRuns() throws {
        let runs = try copiesRuns.get()
        let output = scratchDirectory("report-abc").appendingPathComponent("report.html")
        let outcome = try runBatchAugDist(ranks: nil, ["report"] + runs.map(\.path) + ["--output", output.path])
        #expect(outcome.status == 0, "\(outcome)")
        let files = try FileManager.default.contentsOfDirectory(atPath: output.deletingLastPathComponent().path).sorted()
        #expect(files == (["report.html"] + chartNames.map { "report-\($0).svg" }).sorted())
        for name in chartNames {
            let chart = try ParsedChart(String(contentsOf: output.deletingLastPathComponent()
                .appendingPathComponent("report-\(name).svg"), encoding: .utf8))
            #expect(chart.curves.map(\.label) == ["copies=1", "copies=2", "copies=4"], "\(name)")
            // One (partial) epoch, or the two logged steps (2, 4) of metrics.jsonl.
            #expect(chart.curves.map(\.points.count) == (name == "gradient-norm" ? [2, 2, 2] : [1, 1, 1]), "\(name)")
        }
        let html = try String(contentsOf: output, encoding: .utf8)
        let sections = chartSections(html)
        #expect(sections.keys.sorted() == chartNames.sorted())
        #expect(sections.values.allSatisfy { occurrences(of: "<polyline class=\"curve\"", in: $0) == 3 })
        #expect(occurrences(of: "<tr data-run=", in: html) == 3)
        // M·B·steps: 4 steps of 500 samples in M copies.
        for images in ["2k", "4k", "8k"] { #expect(html.contains("<td>4</td><td>\(images)</td>"), "\(images)") }

        // Each run also keeps its own report, written by train after every epoch.
        for run in runs {
            let own = try String(contentsOf: run.appendingPathComponent("report.html"), encoding: .utf8)
            #expect(chartSections(own).count == 5 && own.contains("<td>1 of 10</td><td>4</td>"))
        }
    }

    @Test("a malformed results.csv line and a directory that is not a run: one message each, non-zero exit, nothing written")
    func errors() throws {
        let run = scratchDirectory("report-bad")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let results = run.appendingPathComponent("results.csv")
        try Data("epoch,step,lr\n0,10,0.1\n1;20;0.1\n".utf8).write(to: results)
        let bad = try runBatchAugDist(ranks: nil, ["report", run.path])
        #expect(bad.status != 0 && !bad.timedOut)
        #expect(bad.stderr == "batchaug-dist: report: \(results.path) line 3: 1 fields where the header has 3\n", "\(bad)")
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("report.html").path))

        let empty = scratchDirectory("report-empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let notRun = try runBatchAugDist(ranks: nil, ["report", empty.path, "--output", empty.appendingPathComponent("r.html").path])
        #expect(notRun.status != 0 && !notRun.timedOut)
        #expect(notRun.stderr.hasPrefix("batchaug-dist: report: \(empty.path): not a run directory") && notRun.stderr.split(separator: "\n").count == 1,
                "\(notRun)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: empty.path).isEmpty)

        let none = try runBatchAugDist(ranks: nil, ["report"])
        #expect(none.status != 0 && none.stderr.contains("give at least one run directory"), "\(none)")
    }

    @Test("a resumed run: report.html shows the epochs so far; TensorBoard's reader returns every scalar, steps increasing, as without the interruption")
    func resumedRun() throws {
        // 2 epochs of 10 steps, a step record every 5.
        let common = ["train", "--model", "mlp", "--epochs", "2", "--batch-size", "1000", "--log-every", "5"]
        let whole = scratchDirectory("tb-whole"), pieces = scratchDirectory("tb-pieces")
        let uninterrupted = try runBatchAugDist(ranks: 2, common + ["--output", whole.path], timeout: 300)
        #expect(uninterrupted.status == 0, "\(uninterrupted)")

        // Stopped after epoch 0: its report shows what is done.
        let first = try runBatchAugDist(ranks: 2, common + ["--output", pieces.path, "--max-steps", "10"], timeout: 300)
        #expect(first.status == 0, "\(first)")
        let partial = try String(contentsOf: pieces.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(partial.contains("<td>1 of 2</td>") && partial.contains("Some runs have not finished"))
        #expect(chartSections(partial)["train-loss"].map { occurrences(of: "<circle", in: $0) } == 1)

        // On to step 15, inside epoch 1 (a checkpoint), then to 18; the checkpoint of step 18 is
        // lost, as in a crash before it was complete: what was written after step 15 is orphaned.
        let files = FileManager.default
        let checkpoint = pieces.appendingPathComponent("checkpoint"), saved = pieces.appendingPathComponent("saved")
        let second = try runBatchAugDist(ranks: 2, ["train", "--resume", pieces.path, "--max-steps", "15"], timeout: 300)
        #expect(second.status == 0, "\(second)")
        try files.copyItem(at: checkpoint, to: saved)
        let third = try runBatchAugDist(ranks: 2, ["train", "--resume", pieces.path, "--max-steps", "18"], timeout: 300)
        #expect(third.status == 0, "\(third)")
        try files.removeItem(at: checkpoint)
        try? files.removeItem(at: pieces.appendingPathComponent("checkpoint.old"))
        try files.moveItem(at: saved, to: checkpoint)
        let last = try runBatchAugDist(ranks: 2, ["train", "--resume", pieces.path], timeout: 300)
        #expect(last.status == 0 && last.stdout.contains("resuming at epoch 1 step 5"), "\(last)")
        #expect(try files.contentsOfDirectory(atPath: pieces.appendingPathComponent("tensorboard").path).count == 4)

        let expected = try tensorboardScalars(in: whole.appendingPathComponent("tensorboard"))
        let read = try tensorboardScalars(in: pieces.appendingPathComponent("tensorboard"))
        #expect(Set(read.keys) == ["train/loss", "train/error", "train/learning_rate", "train/gradient_norm",
                                   "train/images_per_second", "epoch/train_loss", "epoch/train_error", "epoch/val_loss",
                                   "epoch/val_error"])
        #expect(Set(read.keys) == Set(expected.keys))
        for (tag, scalars) in read {
            let steps = scalars.map(\.step)
            #expect(zip(steps, steps.dropFirst()).allSatisfy { $0 < $1 }, "\(tag): \(steps)")
            #expect(steps == expected[tag]?.map(\.step), "\(tag)")
        }
        #expect(read["train/loss"]?.map(\.step) == [5, 10, 15, 20] && read["epoch/val_error"]?.map(\.step) == [10, 20])
        // The resumed run continues bit for bit: the same losses, norms, rates, and test figures.
        for tag in ["train/loss", "train/error", "train/learning_rate", "train/gradient_norm", "epoch/val_loss", "epoch/val_error"] {
            #expect(read[tag] == expected[tag], "\(tag)")
        }
        // The epoch scalars are results.csv's rows.
        let rows = try resultRows(pieces)
        #expect(rows.map { $0["step"] } == ["10", "20"])
        #expect(read["epoch/train_loss"]?.map(\.value) == rows.map { Double(Float($0["train_loss"].flatMap(Double.init) ?? .nan)) })
        let finished = try String(contentsOf: pieces.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(finished.contains("<td>2</td><td>20</td>") && !finished.contains("Some runs have not finished"))
    }

    @Test("in headless Chromium the report of two runs renders: not blank, each run's colour drawn, one curve per run in each chart")
    func browser() throws {
        let runs = try copiesRuns.get()
        let directory = scratchDirectory("report-browser")
        let output = directory.appendingPathComponent("report.html")
        let outcome = try runBatchAugDist(ranks: nil, ["report", runs[0].path, runs[2].path, "--output", output.path])
        #expect(outcome.status == 0, "\(outcome)")
        let browser = try headlessChromium()
        let screenshot = directory.appendingPathComponent("report.png")
        let shot = try runProcess(browser.path, browser.arguments(directory) + [
            "--screenshot=\(screenshot.path)", "--window-size=1300,1900", output.absoluteString,
        ], timeout: 120)
        #expect(shot.status == 0, "\(shot)")
        let image = try PNGImage(contentsOf: screenshot)
        #expect(image.width == 1300 && image.height == 1900)
        let white = image.count(near: "#ffffff", tolerance: 3)
        #expect(Double(white) < 0.97 * Double(image.width * image.height), "the page is blank: \(white) white pixels")
        // The two runs' curves in their palette colours (Okabe-Ito blue and orange).
        #expect(image.count(near: "#0072b2") > 500 && image.count(near: "#e69f00") > 500)

        let dom = try runProcess(browser.path, browser.arguments(directory) + ["--dump-dom", output.absoluteString], timeout: 120)
        #expect(dom.status == 0, "\(dom)")
        let sections = chartSections(dom.stdout)
        #expect(sections.keys.sorted() == chartNames.sorted(), "\(dom.stdout.prefix(2000))")
        for (name, section) in sections {
            #expect(occurrences(of: "<polyline class=\"curve\"", in: section) == 2, "\(name)")
            #expect(section.contains("data-label=\"copies=1\"") && section.contains("data-label=\"copies=4\""), "\(name)")
        }
    }
}

/// Debian's headless Chromium (launch/test installs `chromium-headless-shell`), or the full browser.
struct HeadlessBrowser {
    let path: String
    let isShell: Bool

    /// No sandbox (tests run as root in CI), no GPU, a profile of its own.
    func arguments(_ scratch: URL) -> [String] {
        (isShell ? [] : ["--headless"]) + ["--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                          "--user-data-dir=\(scratch.appendingPathComponent("profile").path)"]
    }
}

func headlessChromium() throws -> HeadlessBrowser {
    for (name, isShell) in [("chromium-headless-shell", true), ("chromium", false)] {
        for directory in ["/usr/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return HeadlessBrowser(path: "\(directory)/\(name)", isShell: isShell)
        }
    }
    throw ProcessFailure(description: "no headless Chromium: launch/test installs Debian's chromium-headless-shell")
}

import Foundation
import Plotting
import RunReport
import TestSupport
import Testing

@Suite("the HTML report and its SVG charts")
struct ReportWritingTests {
    static let charts = ["validation-error", "train-loss", "gradient-norm", "learning-rate", "images-per-second"]

    func scratch() -> URL {
        scratchDirectory("report-out")
    }

    @Test("runs are named by the settings in which they differ, bookkeeping options aside")
    func labels() throws {
        let a = try Run(directory: try RunFixture(name: "a", configuration: ["copies": 1, "seed": 1, "output": "a", "model": "cnn"]).directory)
        let b = try Run(directory: try RunFixture(name: "b", configuration: ["copies": 4, "seed": 1, "output": "b", "model": "cnn"]).directory)
        let c = try Run(directory: try RunFixture(name: "c", configuration: ["copies": 4, "seed": 2, "output": "c", "model": "cnn"], ranks: 4).directory)
        #expect(RunReport.labels(for: [a, b, c]) == ["copies=1, ranks=2, seed=1", "copies=4, ranks=2, seed=1", "copies=4, ranks=4, seed=2"])
        #expect(RunReport.labels(for: [a, b]) == ["copies=1", "copies=4"])
        #expect(RunReport.labels(for: [a]) == ["a"])
        // The same settings twice: the directory names tell them apart.
        let b2 = try Run(directory: try RunFixture(name: "b2", configuration: ["copies": 4, "seed": 1, "output": "b2", "model": "cnn"]).directory)
        #expect(RunReport.labels(for: [a, b, b2]) == ["copies=1", "copies=4 (b)", "copies=4 (b2)"])
        // A run without config.json keeps its directory name.
        let bare = try Run(directory: try RunFixture(name: "bare", configuration: nil).directory)
        #expect(RunReport.labels(for: [a, bare]) == ["a", "bare"])
    }

    @Test("one HTML page and five SVG files; each chart has one curve per run with a point per epoch or logged step")
    func writes() throws {
        let first = try RunFixture(name: "first <&>", configuration: ["copies": 1, "model": "cnn"], metrics: RunFixture.metrics(epochs: 3))
        let second = try RunFixture(name: "second", configuration: ["copies": 4, "model": "cnn"],
                                    results: RunFixture.results(epochs: 4, copies: 4, evaluated: { $0 % 2 == 1 }),
                                    metrics: RunFixture.metrics(epochs: 4))
        let output = scratch().appendingPathComponent("study.html")
        let written = try RunReport.write(runs: [first.directory, second.directory], to: output, title: "M = 1 vs 4 <test>")
        #expect(written.map(\.lastPathComponent) == ["study.html"] + Self.charts.map { "study-\($0).svg" })
        let files = try FileManager.default.contentsOfDirectory(atPath: output.deletingLastPathComponent().path).sorted()
        #expect(files == written.map(\.lastPathComponent).sorted(), "no temporary files are left")

        var charts: [String: ParsedChart] = [:]
        for (slug, file) in zip(Self.charts, written.dropFirst()) {
            charts[slug] = try ParsedChart(String(contentsOf: file, encoding: .utf8))
            #expect(charts[slug]?.curves.map(\.label) == ["copies=1", "copies=4"], "\(slug)")
        }
        func counts(_ slug: String) -> [Int] { charts[slug]?.curves.map(\.points.count) ?? [] }
        #expect(counts("validation-error") == [3, 2], "only evaluated epochs have a validation error")
        #expect(counts("train-loss") == [3, 4] && counts("learning-rate") == [3, 4] && counts("images-per-second") == [3, 4])
        #expect(counts("gradient-norm") == [6, 8], "one point per logged step")
        // Axes cover the data: the loss falls from 2.3 to 2.3/4, the logged gradient norms from 0.6 to 0.075.
        let loss = try #require(charts["train-loss"]?.axes["y"]), gradient = try #require(charts["gradient-norm"]?.axes["y"])
        #expect(loss.scale == "linear" && loss.lower <= 2.3 / 4 && loss.upper >= 2.3)
        #expect(gradient.scale == "logarithmic" && gradient.lower <= 0.075 && gradient.upper >= 0.6)
        let steps = try #require(charts["gradient-norm"]?.axes["x"])
        #expect(steps.lower <= 5 && steps.upper >= 40)

        let html = try String(contentsOf: output, encoding: .utf8)
        #expect(html.contains("<title>M = 1 vs 4 &lt;test&gt;</title>"))
        #expect(html.components(separatedBy: "<figure class=\"chart\"").count == 6)
        #expect(html.components(separatedBy: "<polyline class=\"curve\"").count == 11, "five charts, two curves each")
        #expect(html.components(separatedBy: "<tr data-run=").count == 3)
        #expect(html.contains("first &lt;&amp;&gt;") && !html.contains("first <&>"))
        #expect(html.contains("<td>16.67% (epoch 2)</td>"), "first run: final and best error at epoch 2")
        #expect(html.contains("<td>12.50% (epoch 3)</td>"), "second run: evaluated at epochs 1 and 3")
        #expect(html.contains("<td>30</td><td>3.84k</td>"), "30 steps of 128 images")
        #expect(html.contains("<td>40</td><td>20.5k</td>"), "40 steps of 4 × 128 images")
        #expect(html.contains("<details><summary>") && html.contains("batchaug-dist train --copies 4 --model cnn"))
    }

    @Test("a run without metrics.jsonl (older runs): the gradient chart shows epoch means and says so")
    func withoutMetrics() throws {
        let run = try RunFixture(name: "old")
        let output = scratch().appendingPathComponent("report.html")
        let written = try RunReport.write(runs: [run.directory], to: output)
        let chart = try ParsedChart(String(contentsOf: written[3], encoding: .utf8))
        #expect(chart.curves.map(\.points.count) == [3])
        #expect(chart.texts.contains { $0.contains("epoch means from results.csv for old") })
    }

    @Test("nothing is written when one of the runs cannot be read")
    func nothingHalfWritten() throws {
        let good = try RunFixture(name: "good")
        let bad = try RunFixture(name: "bad", results: RunFixture.results(epochs: 2) + "x\n")
        let output = scratch().appendingPathComponent("report.html")
        #expect(throws: ReportError.self) { try RunReport.write(runs: [good.directory, bad.directory], to: output) }
        #expect(!FileManager.default.fileExists(atPath: output.deletingLastPathComponent().path))
    }
}

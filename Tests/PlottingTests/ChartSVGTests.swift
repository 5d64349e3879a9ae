import Foundation
import Plotting
import TestSupport
import Testing

@Suite("charts as SVG, parsed as XML")
struct ChartSVGTests {
    static let loss = Series(label: "copies=1", points: (0 ..< 7).map { Point(x: Double($0), y: 2.3 * pow(0.6, Double($0))) })
    static let other = Series(label: "copies=4 & <ghost> \"32\" 'x'", points: (0 ..< 5).map { Point(x: Double($0), y: 1.9 * pow(0.5, Double($0))) })

    @Test("one curve per series with a point per data point, all inside the plot area")
    func curves() throws {
        let chart = Chart(title: "Training loss", xLabel: "epoch", yLabel: "loss", yScale: .logarithmic,
                          series: [Self.loss, Self.other])
        let parsed = try ParsedChart(chart.svg())
        #expect(parsed.curves.count == 2)
        let byLabel = Dictionary(uniqueKeysWithValues: parsed.curves.map { ($0.label, $0.points.count) })
        #expect(byLabel == ["copies=1": 7, Self.other.label: 5])
        let area = parsed.plotArea
        for curve in parsed.curves {
            for (x, y) in curve.points {
                #expect(x >= area.x - 0.01 && x <= area.x + area.width + 0.01)
                #expect(y >= area.y - 0.01 && y <= area.y + area.height + 0.01)
            }
        }
        // The axes' ranges cover the data.
        let allPoints = [Self.loss, Self.other].flatMap(\.points)
        let x = try #require(parsed.axes["x"]), y = try #require(parsed.axes["y"])
        #expect(y.scale == "logarithmic" && x.scale == "linear")
        #expect(x.lower <= allPoints.map(\.x).min()! && x.upper >= allPoints.map(\.x).max()!)
        #expect(y.lower <= allPoints.map(\.y).min()! && y.upper >= allPoints.map(\.y).max()!)
        // The first point of the first series lies where its value says.
        let first = try #require(parsed.curves.first { $0.label == "copies=1" }?.points.first)
        let fraction = (log10(2.3) - log10(y.lower)) / (log10(y.upper) - log10(y.lower))
        #expect(abs(first.1 - (area.y + (1 - fraction) * area.height)) < 0.02)
        #expect(abs(first.0 - area.x) < 0.02)
    }

    @Test("labels with markup characters are escaped and read back unchanged")
    func escaping() throws {
        let chart = Chart(title: "loss <log> & \"more\"", xLabel: "step", yLabel: "a'b", series: [Self.other])
        let parsed = try ParsedChart(chart.svg())
        #expect(parsed.curves.map(\.label) == [Self.other.label])
        #expect(parsed.legend == [Self.other.label])
        #expect(parsed.texts.contains("loss <log> & \"more\"") && parsed.texts.contains("a'b"))
    }

    @Test("points a scale cannot show are left out; a series with none is in the legend only")
    func undrawable() throws {
        let partial = Series(label: "with gaps", points: [Point(x: 0, y: 0.5), Point(x: 1, y: .nan), Point(x: 2, y: 0),
                                                          Point(x: 3, y: 0.25)])
        let none = Series(label: "nothing yet", points: [])
        let parsed = try ParsedChart(Chart(title: "t", xLabel: "x", yLabel: "y", yScale: .logarithmic,
                                           series: [partial, none]).svg())
        #expect(parsed.curves.map(\.points.count) == [2])
        #expect(parsed.legend == ["with gaps", "nothing yet (no data)"])
    }

    @Test("a chart without data still renders both axes")
    func empty() throws {
        let parsed = try ParsedChart(Chart(title: "t", xLabel: "x", yLabel: "y", series: []).svg())
        #expect(parsed.curves.isEmpty && parsed.axes.count == 2)
    }
}

import Foundation

/// One curve: a label for the legend and its points in data coordinates.
public struct Series: Sendable {
    public var label: String
    public var points: [Point]

    public init(label: String, points: [Point]) {
        self.label = label
        self.points = points
    }
}

public struct Point: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// How tick labels show values.
public enum ValueStyle: Sendable {
    case number
    /// Fractions as percentages (0.25 → "25%").
    case percent
}

/// A line chart: axes with round ticks, one curve per series in its own colour, a legend.
/// `svg()` renders it as a standalone SVG document (also valid inline in HTML).
public struct Chart: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xScale: ScaleKind
    public var yScale: ScaleKind
    public var yStyle: ValueStyle
    /// A line under the title, e.g. where the data comes from.
    public var note: String?
    public var series: [Series]
    /// Whether x values are counts (epochs, steps): no ticks between whole numbers.
    public var xWholeNumbers = true
    public var width = 600.0
    public var plotHeight = 250.0

    public init(title: String, xLabel: String, yLabel: String, xScale: ScaleKind = .linear,
                yScale: ScaleKind = .linear, yStyle: ValueStyle = .number, note: String? = nil, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xScale = xScale
        self.yScale = yScale
        self.yStyle = yStyle
        self.note = note
        self.series = series
    }

    /// Points that can be drawn on the chart's scales (finite; positive on a logarithmic axis).
    public func drawable(_ series: Series) -> [Point] {
        series.points.filter { (xScale == .linear || $0.x > 0) && (yScale == .linear || $0.y > 0)
            && $0.x.isFinite && $0.y.isFinite }
    }

    /// The chart as SVG text. Each curve is a `<polyline class="curve">` inside a
    /// `<g class="series" data-label="…">`; each axis a `<g class="axis" data-axis="x|y"
    /// data-scale="…" data-min="…" data-max="…">`; the plot area a `<rect class="plot-area">`.
    public func svg() -> String {
        let drawn = series.map(drawable)
        let x = Scale(kind: xScale, covering: drawn.flatMap { $0.map(\.x) }, tickCount: 6, wholeNumbers: xWholeNumbers)
        let y = Scale(kind: yScale, covering: drawn.flatMap { $0.map(\.y) }, tickCount: 5)
        let left = 72.0, right = 20.0, top = note == nil ? 34.0 : 50.0
        let plotWidth = width - left - right
        let legend = LegendLayout(labels: series.map(\.label), width: width - left, top: top + plotHeight + 52)
        let height = legend.bottom + 10
        func px(_ value: Double) -> Double { left + x.fraction(value) * plotWidth }
        func py(_ value: Double) -> Double { top + (1 - y.fraction(value)) * plotHeight }

        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" class="chart" width="\(pixels(width))" height="\(pixels(height))" \
            viewBox="0 0 \(pixels(width)) \(pixels(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">
            <title>\(Markup.escaped(title))</title>
            <rect class="background" x="0" y="0" width="\(pixels(width))" height="\(pixels(height))" fill="#ffffff"/>
            <text class="title" x="\(pixels(left))" y="20" font-size="15" font-weight="bold">\(Markup.escaped(title))</text>

            """
        if let note {
            out += "<text class=\"note\" x=\"\(pixels(left))" + "\" y=\"38\" font-size=\"11\" fill=\"#555555\">\(Markup.escaped(note))</text>\n"
        }
        // Grid and axes.
        out += "<g class=\"axis\" data-axis=\"x\" data-scale=\"\(xScale.rawValue)\" data-min=\"\(x.lower)\" data-max=\"\(x.upper)\">\n"
        for tick in x.ticks {
            let p = px(tick)
            out += "<line x1=\"\(pixels(p))\" y1=\"\(pixels(top))\" x2=\"\(pixels(p))\" y2=\"\(pixels(top + plotHeight))\" stroke=\"#e4e4e4\"/>"
            out += "<text x=\"\(pixels(p))\" y=\"\(pixels(top + plotHeight + 16))\" text-anchor=\"middle\">"
                + "\(Markup.escaped(TickLabel.format(tick, step: x.step(at: tick), style: .number)))</text>\n"
        }
        out += "<text class=\"label\" x=\"\(pixels(left + plotWidth / 2))\" y=\"\(pixels(top + plotHeight + 36))\" "
            + "text-anchor=\"middle\">\(Markup.escaped(xLabel))</text>\n</g>\n"
        out += "<g class=\"axis\" data-axis=\"y\" data-scale=\"\(yScale.rawValue)\" data-min=\"\(y.lower)\" data-max=\"\(y.upper)\">\n"
        for tick in y.ticks {
            let p = py(tick)
            out += "<line x1=\"\(pixels(left))\" y1=\"\(pixels(p))\" x2=\"\(pixels(left + plotWidth))\" y2=\"\(pixels(p))\" stroke=\"#e4e4e4\"/>"
            out += "<text x=\"\(pixels(left - 6))\" y=\"\(pixels(p + 4))\" text-anchor=\"end\">"
                + "\(Markup.escaped(TickLabel.format(tick, step: y.step(at: tick), style: yStyle)))</text>\n"
        }
        let middle = top + plotHeight / 2
        out += "<text class=\"label\" x=\"16\" y=\"\(pixels(middle))\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 16 \(pixels(middle)))\">\(Markup.escaped(yLabel))</text>\n</g>\n"
        out += "<rect class=\"plot-area\" x=\"\(pixels(left))\" y=\"\(pixels(top))\" width=\"\(pixels(plotWidth))\" "
            + "height=\"\(pixels(plotHeight))\" fill=\"none\" stroke=\"#999999\"/>\n"

        // Curves, in the order of the series (the last on top).
        for (index, points) in drawn.enumerated() where !points.isEmpty {
            let style = Palette.style(index)
            out += "<g class=\"series\" data-label=\"\(Markup.escaped(series[index].label))\" data-points=\"\(points.count)\">"
            let coordinates = points.map { "\(pixels(px($0.x))),\(pixels(py($0.y)))" }.joined(separator: " ")
            out += "<polyline class=\"curve\" points=\"\(coordinates)\" fill=\"none\" stroke=\"\(style.color)\" "
                + "stroke-width=\"2\" stroke-linejoin=\"round\"\(style.dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>"
            if points.count <= 60 {
                for point in points {
                    out += "<circle cx=\"\(pixels(px(point.x)))\" cy=\"\(pixels(py(point.y)))\" r=\"2.8\" fill=\"\(style.color)\"/>"
                }
            }
            out += "</g>\n"
        }

        // Legend under the plot.
        out += "<g class=\"legend\">\n"
        for (index, item) in legend.items.enumerated() {
            let style = Palette.style(index)
            let x0 = left + item.x, y0 = item.y
            out += "<g class=\"legend-item\"><line x1=\"\(pixels(x0))\" y1=\"\(pixels(y0 - 4))\" x2=\"\(pixels(x0 + 22))\" y2=\"\(pixels(y0 - 4))\" "
                + "stroke=\"\(style.color)\" stroke-width=\"3\"\(style.dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>"
            let empty = drawn[index].isEmpty ? " (no data)" : ""
            out += "<text x=\"\(pixels(x0 + 28))\" y=\"\(pixels(y0))\">\(Markup.escaped(series[index].label + empty))</text></g>\n"
        }
        out += "</g>\n</svg>\n"
        return out
    }
}

/// Where the legend's entries go: left to right, wrapping onto new rows.
struct LegendLayout {
    var items: [(x: Double, y: Double)] = []
    var bottom: Double

    init(labels: [String], width: Double, top: Double) {
        var x = 0.0, y = top + 12
        for label in labels {
            let itemWidth = 28 + TextMetrics.width(label, fontSize: 12) + 20
            if x > 0 && x + itemWidth > width {
                x = 0
                y += 20
            }
            items.append((x, y))
            x += itemWidth
        }
        bottom = labels.isEmpty ? top : y + 6
    }
}

/// A rough width of text in a sans-serif font, enough to lay out a legend without a renderer.
enum TextMetrics {
    static func width(_ text: String, fontSize: Double) -> Double {
        Double(text.count) * fontSize * 0.62
    }
}

/// Colours that stay distinct for the colour-blind (Okabe and Ito), then the same with dashes.
public enum Palette {
    public static let colors = ["#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#000000", "#999933"]

    public static func style(_ index: Int) -> (color: String, dash: String?) {
        let dashes: [String?] = [nil, "6 3", "2 3", "8 3 2 3"]
        return (colors[index % colors.count], dashes[(index / colors.count) % dashes.count])
    }
}

/// Text made safe for SVG and HTML.
public enum Markup {
    /// Text as XML or HTML character data or attribute value: markup characters as entities, and
    /// control characters (which XML 1.0 forbids) as spaces.
    public static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // XML 1.0 allows no control characters but tab, newline and carriage return.
                if character.value < 0x20 && character != "\t" && character != "\n" && character != "\r" {
                    out += " "
                } else {
                    out.unicodeScalars.append(character)
                }
            }
        }
        return out
    }
}

/// Pixel coordinates with two decimals.
func pixels(_ value: Double) -> String {
    let rounded = (value * 100).rounded() / 100
    return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.2f", rounded)
}

#if canImport(FoundationXML)
import FoundationXML
#endif
import Foundation

/// What a chart's SVG says, read back with an XML parser.
public struct ParsedChart {
    public struct Curve {
        public let label: String
        public let points: [(Double, Double)]
    }
    public struct Axis {
        public let scale: String
        public let lower: Double
        public let upper: Double
    }
    public let curves: [Curve]
    public let axes: [String: Axis]
    public let plotArea: (x: Double, y: Double, width: Double, height: Double)
    public let legend: [String]
    public let texts: [String]

    public init(_ svg: String) throws {
        let document = try XMLDocument(data: Data(svg.utf8))
        func nodes(_ path: String) throws -> [XMLElement] { try document.nodes(forXPath: path).compactMap { $0 as? XMLElement } }
        // (`attribute(forName:)` misses attributes in a default namespace on Linux.)
        func attribute(_ element: XMLElement, _ name: String) -> String {
            element.attributes?.first { $0.name == name }?.stringValue ?? ""
        }
        curves = try nodes("//*[local-name()='g'][@class='series']").map { group in
            let polyline: XMLElement? = group.elements(forName: "polyline").first
            guard let polyline else { throw SVGStructureError(description: "a series without a polyline") }
            let points = attribute(polyline, "points").split(separator: " ").map { pair -> (Double, Double) in
                let xy = pair.split(separator: ",").compactMap { Double($0) }
                return xy.count == 2 ? (xy[0], xy[1]) : (.nan, .nan)
            }
            return Curve(label: attribute(group, "data-label"), points: points)
        }
        var axes: [String: Axis] = [:]
        for axis in try nodes("//*[local-name()='g'][@class='axis']") {
            axes[attribute(axis, "data-axis")] = Axis(scale: attribute(axis, "data-scale"),
                                                      lower: Double(attribute(axis, "data-min")) ?? .nan,
                                                      upper: Double(attribute(axis, "data-max")) ?? .nan)
        }
        self.axes = axes
        guard let area = try nodes("//*[local-name()='rect'][@class='plot-area']").first else {
            throw SVGStructureError(description: "no plot area")
        }
        func number(_ name: String) -> Double { Double(attribute(area, name)) ?? .nan }
        plotArea = (number("x"), number("y"), number("width"), number("height"))
        legend = try nodes("//*[local-name()='g'][@class='legend-item']/*[local-name()='text']").map { $0.stringValue ?? "" }
        texts = try nodes("//*[local-name()='text']").map { $0.stringValue ?? "" }
    }
}

public struct SVGStructureError: Error, CustomStringConvertible {
    public let description: String
}

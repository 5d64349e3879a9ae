/// A text table with columns sized to their widest cell: words left-aligned, or (for tables of
/// figures) every cell right-aligned.
public struct TextTable {
    public enum Alignment: Sendable { case left, right }

    private var rows: [[String]]
    private let alignment: Alignment

    public init(header: [String], alignment: Alignment = .left) {
        rows = [header]
        self.alignment = alignment
    }

    public mutating func append(_ row: [String]) { rows.append(row) }

    public func render() -> String {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0 ..< columns).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                let padding = String(repeating: " ", count: widths[c] - cell.count)
                switch alignment {
                case .left: return c == row.count - 1 ? cell : cell + padding
                case .right: return padding + cell
                }
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

import Foundation

/// Short labels for tick values: as many decimals as the tick spacing needs, thousands as "k" and
/// millions as "M", very small values with an exponent.
public enum TickLabel {
    public static func format(_ value: Double, step: Double, style: ValueStyle) -> String {
        switch style {
        case .percent: return plain(value * 100, step: step * 100) + "%"
        case .number: return plain(value, step: step)
        }
    }

    static func plain(_ value: Double, step: Double) -> String {
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e4 {
            for (scale, suffix) in [(1e9, "G"), (1e6, "M"), (1e3, "k")] where magnitude >= scale {
                return plain(value / scale, step: step / scale) + suffix
            }
        }
        if magnitude < 1e-3 {
            // 1e-05, 2.5e-06
            let text = String(format: "%.3g", value)
            return text.replacingOccurrences(of: "e-0", with: "e-")
        }
        let decimals = max(0, min(6, Int((-log10(abs(step))).rounded(.up))))
        var text = String(format: "%.\(decimals)f", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }
}

import Foundation
import Plotting
import Testing

@Suite("scales: round ticks that cover the data")
struct ScaleTests {
    @Test("linear ticks are 1, 2 or 5 times a power of ten apart and cover the data",
          arguments: [([0.0, 9.3], [0.0, 2, 4, 6, 8, 10]), ([0.0783, 0.1551], [0.06, 0.08, 0.1, 0.12, 0.14, 0.16]),
                      ([428.3, 552.6], [400.0, 450, 500, 550, 600]), ([-3.0, 7.0], [-4.0, -2, 0, 2, 4, 6, 8])])
    func linear(data: [Double], expected: [Double]) {
        let scale = Scale(kind: .linear, covering: data, tickCount: 5)
        #expect(scale.ticks == expected)
        #expect(scale.lower <= data.min()! && scale.upper >= data.max()!)
    }

    @Test("one value sits inside an interval; whole-number axes have no fractional ticks")
    func degenerate() {
        let single = Scale(kind: .linear, covering: [3], tickCount: 5)
        #expect(single.lower < 3 && single.upper > 3)
        let epochs = Scale(kind: .linear, covering: [0, 1, 2], tickCount: 6, wholeNumbers: true)
        #expect(epochs.ticks == [0, 1, 2])
        let oneEpoch = Scale(kind: .linear, covering: [0], tickCount: 6, wholeNumbers: true)
        #expect(oneEpoch.ticks == [0, 1])
        let empty = Scale(kind: .linear, covering: [.nan], tickCount: 5)
        #expect(empty.lower == 0 && empty.upper == 1)
    }

    @Test("logarithmic ticks: 1-2-5 over a few decades, powers of ten over many")
    func logarithmic() {
        let loss = Scale(kind: .logarithmic, covering: [0.2206, 0.6336])
        #expect(loss.ticks == [0.2, 0.5, 1])
        let rates = Scale(kind: .logarithmic, covering: [0.001, 0.1])
        #expect(rates.ticks == [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1])
        let wide = Scale(kind: .logarithmic, covering: [1e-9, 3e3])
        #expect(wide.lower <= 1e-9 && wide.upper >= 3e3)
        #expect(wide.ticks.count <= 8 && wide.ticks.allSatisfy { abs(log10($0) - log10($0).rounded()) < 1e-9 })
        // Non-positive values cannot be placed and are ignored.
        let mixed = Scale(kind: .logarithmic, covering: [0, -1, 4, 6])
        #expect(mixed.lower == 2 && mixed.upper == 10)
        #expect(!mixed.canShow(0) && mixed.canShow(4))
        #expect(abs(rates.fraction(0.01) - 0.5) < 1e-12)
    }

    @Test("log scale is suggested when positive values span a factor of five")
    func suggestion() {
        #expect(ScaleKind.suggested(for: [2.3, 0.1]) == .logarithmic)
        #expect(ScaleKind.suggested(for: [2.3, 2.1]) == .linear)
        #expect(ScaleKind.suggested(for: [0, 5]) == .linear)
    }

    @Test("tick labels: digits as the spacing needs, k and M, exponents, percentages")
    func labels() {
        #expect(TickLabel.format(0.30000000000000004, step: 0.1, style: .number) == "0.3")
        #expect(TickLabel.format(2, step: 0.5, style: .number) == "2")
        #expect(TickLabel.format(25_000, step: 5_000, style: .number) == "25k")
        #expect(TickLabel.format(1_500_000, step: 500_000, style: .number) == "1.5M")
        #expect(TickLabel.format(1e-5, step: 1e-5, style: .number) == "1e-5")
        #expect(TickLabel.format(0.075, step: 0.005, style: .percent) == "7.5%")
        #expect(TickLabel.format(0.002, step: 0.002, style: .number) == "0.002")
    }
}

import Benchmarks
import Testing

@Suite("Benchmark statistics and report lines")
struct UnitsTests {
    @Test("median, and JSON lines")
    func formatting() {
        #expect(median([3, 1, 2]) == 2)
        #expect(median([4, 1, 3, 2]) == 2.5)
        let line = JSONLine().add("op", "all\"reduce\n").add("n", 3).add("x", 0.5).add("ok", true).add("bad", Double.nan).render()
        #expect(line == #"{"op":"all\"reduce\n","n":3,"x":0.5,"ok":true,"bad":null}"#)
    }
}

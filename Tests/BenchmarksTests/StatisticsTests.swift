import Benchmarks
import Testing

@Suite("benchmark statistics")
struct StatisticsTests {
    @Test("the median of an odd count is the middle value, of an even count the mean of the middle two")
    func medians() {
        #expect(median([3, 1, 2]) == 2)
        #expect(median([4, 1, 3, 2]) == 2.5)
    }
}

import Formatting
import Testing

@Suite("sizes, lists, numbers and durations as text")
struct FormattingTests {
    @Test("byte sizes parse with binary suffixes and reject garbage")
    func byteSizes() throws {
        #expect(try ByteSize.parse("4096") == 4096)
        #expect(try ByteSize.parse("4K") == 4096)
        #expect(try ByteSize.parse("64k") == 65536)
        #expect(try ByteSize.parse("1M") == 1 << 20)
        #expect(try ByteSize.parse("2GiB") == 2 << 30)
        #expect(try ByteSize.parse("16MB") == 16 << 20)
        #expect(try ByteSize.parse(" 8K ") == 8192)
        for bad in ["", "K", "4X", "-1", "1.5M", "12 34", "99999999999G"] {
            #expect(throws: ByteSize.ParseError.self, "'\(bad)'") { try ByteSize.parse(bad) }
        }
        #expect(ByteSize.format(4096) == "4K" && ByteSize.format(64 << 20) == "64M" && ByteSize.format(12) == "12B")
        #expect(ByteSize.format(1536) == "1.5K")
    }

    @Test("lists name the bad entry")
    func lists() throws {
        #expect(try parseList("1,2,3") { Int($0)! } == [1, 2, 3])
        #expect(throws: ByteSize.ParseError.self) { try parseList("1,,3") { Int($0)! } }
        #expect(throws: ByteSize.ParseError.self) { try parseList("1, ,3") { Int($0)! } }
        #expect(throws: ByteSize.ParseError.self) { try parseList("") { Int($0)! } }
    }

    @Test("fixed decimals round half away from zero and never print -0")
    func fixedDecimals() {
        #expect(fixed(3.14159, 2) == "3.14" && fixed(-0.005, 1) == "0.0" && fixed(2, 0) == "2" && fixed(-1.25, 1) == "-1.3")
        #expect(fixed(0.5, 0) == "1" && fixed(1234.5678, 3) == "1234.568" && fixed(0.05, 2) == "0.05")
        #expect(fixed(1e20, 2) == "1e+20", "beyond 2^53 the number's own text, no overflow")
        #expect(fixed(.nan, 2) == "nan" && fixed(-.infinity, 1) == "-inf")
        #expect(percent(0.12345) == "12.35%" && percent(0) == "0.00%")
        #expect(significant(0.1) == "0.1" && significant(1 / 30) == "0.03333" && significant(2.5e-5) == "2.5e-05")
    }

    @Test("durations as seconds and as text")
    func durations() {
        #expect(Duration.milliseconds(1500).seconds == 1.5)
        #expect(Duration.nanoseconds(3).seconds == 3e-9)
        #expect(formatSeconds(12.3e-6) == "12.3 us" && formatSeconds(0.00456) == "4.56 ms" && formatSeconds(1.234) == "1.23 s")
        #expect(formatDuration(12) == "12s" && formatDuration(187) == "3m07s" && formatDuration(3720) == "1h02m")
        #expect(formatDuration(.nan) == "?" && formatDuration(-1) == "?")
    }

    @Test("whitespace is trimmed at both ends only")
    func whitespace() {
        #expect("  a b \n".trimmingWhitespace == "a b" && "   ".trimmingWhitespace == "" && "x".trimmingWhitespace == "x")
    }

    @Test("tables pad every column but the last to its widest cell")
    func table() {
        var table = TextTable(header: ["a", "bbb", "c"])
        table.append(["xxxx", "y", "z"])
        #expect(table.render() == "a     bbb  c\nxxxx  y    z")
        var figures = TextTable(header: ["n", "time"], alignment: .right)
        figures.append(["1000", "1.5"])
        #expect(figures.render() == "   n  time\n1000   1.5")
    }
}

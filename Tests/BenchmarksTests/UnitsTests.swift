import Benchmarks
import Testing

@Suite("Sizes, lists and report formatting")
struct UnitsTests {
    @Test("byte sizes parse with binary suffixes and reject garbage")
    func byteSizes() throws {
        #expect(try ByteSize.parse("4096") == 4096)
        #expect(try ByteSize.parse("4K") == 4096)
        #expect(try ByteSize.parse("64k") == 65536)
        #expect(try ByteSize.parse("1M") == 1 << 20)
        #expect(try ByteSize.parse("2GiB") == 2 << 30)
        #expect(try ByteSize.parse("16MB") == 16 << 20)
        for bad in ["", "K", "4X", "-1", "1.5M", "12 34"] {
            #expect(throws: ByteSize.ParseError.self, "'\(bad)'") { try ByteSize.parse(bad) }
        }
        #expect(ByteSize.format(4096) == "4K" && ByteSize.format(64 << 20) == "64M" && ByteSize.format(12) == "12B")
        #expect(ByteSize.format(1536) == "1.5K")
    }

    @Test("lists name the bad entry")
    func lists() throws {
        #expect(try parseList("1,2,3") { Int($0)! } == [1, 2, 3])
        #expect(throws: ByteSize.ParseError.self) { try parseList("1,,3") { Int($0)! } }
        #expect(throws: ByteSize.ParseError.self) { try parseList("") { Int($0)! } }
    }

    @Test("fixed-point and JSON lines")
    func formatting() {
        #expect(fixed(3.14159, 2) == "3.14" && fixed(-0.005, 1) == "0.0" && fixed(2, 0) == "2" && fixed(-1.25, 1) == "-1.3")
        let line = JSONLine().add("op", "all\"reduce\n").add("n", 3).add("x", 0.5).add("ok", true).add("bad", Double.nan).render()
        #expect(line == #"{"op":"all\"reduce\n","n":3,"x":0.5,"ok":true,"bad":null}"#)
    }
}

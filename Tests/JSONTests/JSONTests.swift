import Foundation
import JSON
import Testing

@Suite("JSON values and JSON lines")
struct JSONTests {
    @Test("JSON values: canonical forms, sorted compact text")
    func jsonValues() throws {
        let value = try JSONValue(parsing: Data(#"{"b":[1,1.5,-2,true,null,"s"],"a":{"x":18446744073709551615}}"#.utf8))
        #expect(value == .object([
            "b": .array([.integer(1), .double(1.5), .integer(-2), .bool(true), .null, .string("s")]),
            "a": .object(["x": .unsignedInteger(.max)]),
        ]))
        #expect(try value.jsonText() == #"{"a":{"x":18446744073709551615},"b":[1,1.5,-2,true,null,"s"]}"#)
        let literal: JSONValue = ["b": [1, 1.5, -2.0, true, nil, "s"], "a": ["x": .unsignedInteger(.max)]]
        #expect(literal == value)
        #expect(JSONValue.number(3.0) == .integer(3) && JSONValue.number(0.5) == .double(0.5) && JSONValue.number(1e20) == .double(1e20))
    }

    @Test("64-bit integers survive encoding, text and decoding exactly (no Double on the way)")
    func exactIntegers() throws {
        struct Seeds: Codable, Equatable { var values: [UInt64]; var signed: Int64 }
        let seeds = Seeds(values: [0, 1 << 53 + 1, UInt64(Int64.max) + 1, .max], signed: .min)
        let value = try JSONValue(encoding: seeds)
        #expect(value.objectValue?["values"] == .array([.integer(0), .integer(1 << 53 + 1), .unsignedInteger(1 << 63),
                                                        .unsignedInteger(.max)]))
        #expect(try value.jsonText() == #"{"signed":-9223372036854775808,"values":[0,9007199254740993,9223372036854775808,18446744073709551615]}"#)
        #expect(try JSONValue(parsing: Data(try value.jsonText().utf8)).decode(Seeds.self) == seeds)
    }

    @Test("non-finite numbers are null in text, whatever path they take")
    func nonFinite() throws {
        struct Figures: Encodable { var a = Double.nan; var b = -Double.infinity; var c = 1.5; var d = "\u{0}" }
        let value = try JSONValue(encoding: Figures())
        #expect(value.objectValue?["a"].map { if case .double(let x) = $0 { x.isNaN } else { false } } == true)
        #expect(value.objectValue?["b"] == .double(-.infinity))
        #expect(try value.jsonText() == #"{"a":null,"b":null,"c":1.5,"d":"\u0000"}"#)
    }

    @Test("a JSON line keeps its keys in order and escapes every string")
    func lines() throws {
        let line = JSONLine().add("op", "all\"reduce\n\u{1}").add("n", 3).add("x", 0.5).add("ok", true)
            .add("bad", Double.nan).add("whole", 2.0).add("seed", .unsignedInteger(.max)).add("a/b", .null).render()
        #expect(line == #"{"op":"all\"reduce\n\u0001","n":3,"x":0.5,"ok":true,"bad":null,"whole":2,"seed":18446744073709551615,"a/b":null}"#)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(parsed["op"] as? String == "all\"reduce\n\u{1}")
    }
}

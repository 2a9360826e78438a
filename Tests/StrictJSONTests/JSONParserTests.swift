import Testing
@testable import StrictJSON

@Suite struct JSONParserTests {
    @Test func parsesNestedValuesInOrder() throws {
        let v = try JSONParser.parse(#"{"b":1,"a":[true,null,"x",-2.5e1],"c":{"d":"\u00e9\n"}}"#)
        #expect(v.objectValue?.keys == ["b", "a", "c"])
        #expect(v["a"] == [true, nil, "x", -25.0])
        #expect(v["c"]?["d"] == "é\n")
    }

    @Test func rejectsDuplicateKeysNamingThePath() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(#"{"a":{"x":1,"x":2}}"#) }
        do { _ = try JSONParser.parse(#"{"a":{"x":1,"x":2}}"#) } catch {
            #expect(error.reason == .duplicateKey("x"))
            #expect(error.path == "/a")
        }
    }

    @Test func rejectsDeepNestingWithoutCrashing() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        do { _ = try JSONParser.parse(deep); Issue.record("accepted") } catch { #expect(error.reason == .tooDeep(64)) }
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", "\"\\x\"", "tru", "{\"a\" 1}", "[1] 2", "\"\u{01}\"", "\"\\ud800\"", "NaN"])
    func rejectsInvalidText(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func writesCompactlyWithoutEscapingSlashes() {
        let v: JSONValue = ["url": "https://x/y", "n": 3, "f": 1.5, "q": "a\"b\\c\u{1}"]
        #expect(v.jsonString == #"{"url":"https://x/y","n":3,"f":1.5,"q":"a\"b\\c\u0001"}"#)
    }

    @Test func roundTripsSurrogatePairs() throws {
        let v = try JSONParser.parse(#"["\ud83d\ude00"]"#)
        #expect(v == ["😀"])
        #expect(try JSONParser.parse(v.jsonString) == v)
    }

    @Test func integerDetection() throws {
        #expect(JSONValue.number(2).intValue == 2)
        #expect(JSONValue.number(2.5).intValue == nil)
        #expect(try JSONParser.parse("2.0").intValue == 2)
    }
}

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

    @Test func nestedObjectsAndArraysKeepTheirOwnMembers() throws {
        // Objects and arrays are gathered on shared stacks: each must get exactly its own
        // members, and a key is a duplicate only within its own object.
        let text = #"{"a":{"b":[1,{"c":[],"d":{}},[2,[3]]],"e":"f"},"g":[{"h":1},{"h":2}],"x":{"a":{"a":{"a":[]}}},"z":[[],[[]],{}]}"#
        #expect(String(decoding: try JSONParser.parse(text).jsonBytes, as: UTF8.self) == text)
        let keys = (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let big = "{\(keys),\"inner\":{\(keys)},\"list\":[{\(keys)},{\(keys)}]}"
        let parsed = try JSONParser.parse(big)
        #expect(parsed.objectValue?.count == 42 && parsed["inner"]?.objectValue?.count == 40)
        #expect(parsed["list"]?.arrayValue?.map { $0.objectValue?.count } == [40, 40])
        #expect(parsed["inner"]?["k39"] == 39)
        do { _ = try JSONParser.parse("{\"o\":{\"p\":[{\(keys),\"k7\":1}]}}"); Issue.record("accepted") } catch {
            #expect(error.reason == .duplicateKey("k7") && error.path == "/o/p/0")
        }
    }

    @Test func rejectsDeepNestingWithoutCrashing() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        do { _ = try JSONParser.parse(deep); Issue.record("accepted") } catch { #expect(error.reason == .tooDeep(64)) }
    }

    /// Depth is the limit that keeps the parser's stack safe: an object nested too deep under
    /// a root key the caller does not accept is refused for its depth, not for that key.
    @Test func depthIsCheckedBeforeAnUnexpectedRootKeyIsRefused() {
        let deep = String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000)
        do { _ = try JSONParser.parse(Array(deep.utf8), limits: .init(rootKeys: ["participants"])); Issue.record("accepted") } catch {
            #expect(error.reason == .tooDeep(64), "\(error)")
        }
        // Within the depth limit, the key is what is wrong.
        do { _ = try JSONParser.parse(Array(#"{"a":{"a":{"a":1}}}"#.utf8), limits: .init(rootKeys: ["participants"])); Issue.record("accepted") } catch {
            #expect(error.reason == .unexpectedKey("a") && error.path == "", "\(error)")
        }
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", "\"\\x\"", "tru", "{\"a\" 1}", "[1] 2", "\"\u{01}\"", "\"\\ud800\"", "NaN"])
    func rejectsInvalidText(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func stringsAreUTF8CheckedWhetherOrNotTheyHaveEscapes() throws {
        #expect(try JSONParser.parse(Array(#"["héllo","ab\n😀"]"#.utf8)) == ["héllo", "ab\n😀"])
        for bad: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0x61, 0xC3, 0x22], [0x22, 0x5C, 0x6E, 0xFF, 0x22]] {
            #expect(throws: JSONParseError.self) { try JSONParser.parse(bad) }
        }
    }

    @Test func limitsStopAHostileDocumentAtTheFirstKeyOrElementTooMany() throws {
        let limits = JSONParser.Limits(maxMembers: 3, rootKeys: ["a", "b"])
        // Keys are checked at the root only; members everywhere.
        #expect(try JSONParser.parse(Array(#"{"a":{"x":1,"y":2,"z":3},"b":[1,2,3]}"#.utf8), limits: limits) == ["a": ["x": 1, "y": 2, "z": 3], "b": [1, 2, 3]])
        for (text, reason, path) in [(#"{"a":1,"c":2,"d":"never read"#, JSONParseError.Reason.unexpectedKey("c"), ""),
                                     (#"{"a":{"w":1,"x":1,"y":2,"z":3}}"#, .tooManyMembers(limit: 3, inObject: true), "/a"),
                                     (#"{"b":[1,2,3,4]}"#, .tooManyMembers(limit: 3, inObject: false), "/b")] {
            do { _ = try JSONParser.parse(Array(text.utf8), limits: limits); Issue.record("accepted \(text)") } catch {
                #expect(error.reason == reason && error.path == path, "\(text): \(error)")
            }
        }
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

@Suite struct LargeObjectTests {
    static func object(keys n: Int, duplicateAtEnd: Bool = false) -> [UInt8] {
        var text = "{"
        for i in 0..<n { text += (i > 0 ? "," : "") + "\"k\(i)\":\(i)" }
        if duplicateAtEnd { text += ",\"k0\":0" }
        return Array((text + "}").utf8)
    }

    @Test func aHundredThousandKeysKeepTheirOrderAndAreFoundByName() throws {
        let v = try JSONParser.parse(Self.object(keys: 100_000))
        let o = try #require(v.objectValue)
        #expect(o.count == 100_000 && o.keys.first == "k0" && o.keys.last == "k99999")
        #expect(o["k54321"] == 54321 && o["k100000"] == nil)
        #expect(v.jsonBytes == Self.object(keys: 100_000))
    }

    @Test func aDuplicateFarIntoALargeObjectIsStillRefused() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Self.object(keys: 50_000, duplicateAtEnd: true)) }
        do { _ = try JSONParser.parse(Self.object(keys: 50_000, duplicateAtEnd: true)) } catch {
            #expect(error.reason == .duplicateKey("k0"))
        }
    }

    @Test func aLargeObjectStaysCorrectAcrossEdits() {
        var o = JSONObject()
        for i in 0..<40 { o["k\(i)"] = .number(Double(i)) }
        o["k3"] = nil
        o["k39"] = "last"
        o["new"] = true
        #expect(o.count == 40 && o["k3"] == nil && o["k4"] == 4 && o["k39"] == "last" && o.keys.last == "new")
        #expect(o == JSONObject(o.members.map { ($0.key, $0.value) }))
    }
}

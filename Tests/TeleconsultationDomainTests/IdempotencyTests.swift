import StrictJSON
import Testing
@testable import TeleconsultationDomain

@Suite struct IdempotencyTests {
    @Test func sha256MatchesTheStandardsVectors() {
        #expect(SHA256Digest.hex(of: Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Digest.hex(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256Digest.hex(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256Digest.hex(of: [UInt8](repeating: 0x61, count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test(arguments: ["k", "order-42:retry", String(repeating: "a", count: 255), "with space ~"])
    func printableKeysUpTo255AreTaken(_ key: String) throws {
        #expect(try IdempotencyKey.parse(key)?.value == key)
    }

    @Test(arguments: ["", String(repeating: "a", count: 256), "tab\there", "nul\u{0}", "del\u{7f}", "é"])
    func otherKeysAre400NamingTheHeader(_ key: String) {
        #expect(throws: ValidationError("headers/idempotency-key must be 1 to 255 printable ASCII characters")) { try IdempotencyKey.parse(key) }
    }

    @Test func noHeaderNoKey() throws {
        #expect(try IdempotencyKey.parse(nil) == nil)
    }

    @Test func aKeyIsScopedToItsRouteRoomAndCaller() throws {
        let key = try #require(try IdempotencyKey.parse("k1"))
        let base = key.scoped(route: "POST /teleconsultation", roomId: nil, callerId: "dr-who")
        #expect(base.utf8.count == 64)
        #expect(base != key.scoped(route: "POST /credentials", roomId: nil, callerId: "dr-who"))
        #expect(base != key.scoped(route: "POST /teleconsultation", roomId: nil, callerId: "pat-1"))
        #expect(base != key.scoped(route: "POST /teleconsultation", roomId: nil, callerId: nil))
        #expect(key.scoped(route: "r", roomId: "a", callerId: "bc") != key.scoped(route: "r", roomId: "ab", callerId: "c"))
    }

    @Test func theSameJSONInAnotherOrderOrSpacingIsTheSameRequest() {
        let a = RequestFingerprint.of(method: "POST", path: "/t", body: Array(#"{"a":1,"b":{"y":[1,2],"x":"s"}}"#.utf8))
        let b = RequestFingerprint.of(method: "POST", path: "/t", body: Array(#" { "b" : { "x":"s", "y":[1, 2] }, "a":1 } "#.utf8))
        #expect(a == b)
        #expect(a != RequestFingerprint.of(method: "POST", path: "/t", body: Array(#"{"a":1,"b":{"y":[2,1],"x":"s"}}"#.utf8)))
        #expect(a != RequestFingerprint.of(method: "POST", path: "/u", body: Array(#"{"a":1,"b":{"y":[1,2],"x":"s"}}"#.utf8)))
        #expect(RequestFingerprint.of(method: "POST", path: "/t", body: Array("not json".utf8)) != RequestFingerprint.of(method: "POST", path: "/t", body: []))
    }

    static let now = Timestamp(iso: "2026-06-01T12:00:00.000Z")!
    func at(_ seconds: Int64) -> Timestamp { Timestamp(milliseconds: Self.now.milliseconds + seconds * 1000) }

    func record(_ state: IdempotencyRecord.State, fingerprint: String = "f", expires: Int64 = 3600, lease: Int64 = 60) -> IdempotencyRecord {
        IdempotencyRecord(id: "r", fingerprint: fingerprint, state: state, expiresAt: at(expires), leaseUntil: at(lease),
                          status: state == .done ? 201 : nil, body: state == .done ? #"{"roomId":"x"}"# : nil)
    }

    @Test func theDecisionTable() {
        let cases: [(IdempotencyRecord, String, IdempotencyDecision)] = [
            (record(.done), "f", .replay(status: 201, body: #"{"roomId":"x"}"#)),
            (record(.done), "other", .reused),
            (record(.processing), "f", .inProgress),
            (record(.processing), "other", .reused),
            // A process that died with the key: free once its lease is over.
            (record(.processing, lease: 0), "f", .takeOver),
            (record(.processing, lease: -1), "other", .takeOver),
            // A 5xx was not kept: the key is free, for the same request or another.
            (record(.released), "f", .takeOver),
            (record(.released), "other", .takeOver),
            // After the TTL the record counts as absent.
            (record(.done, expires: 0), "f", .takeOver),
            (record(.done, expires: -10), "other", .takeOver),
            (record(.done, expires: 1), "f", .replay(status: 201, body: #"{"roomId":"x"}"#)),
        ]
        for (r, fingerprint, expected) in cases {
            #expect(IdempotencyDecision.decide(r, fingerprint: fingerprint, now: Self.now) == expected, "\(r.state) \(fingerprint)")
        }
    }
}

import Foundation
import Glibc
import StrictJSON
import Testing

/// A raw connection to the app's FastCGI socket, bypassing nginx.
final class RawPeer {
    let fd: Int32
    init?(_ path: String) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        if rc != 0 { Glibc.close(fd); return nil }
    }
    func send(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
    func close() { Glibc.close(fd) }

    /// Waits (poll, not a sleep) until the app closes the connection; false if it did not in time.
    func waitForEnd(timeoutMs: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeoutMs) > 0 else { return false }
        var byte: UInt8 = 0
        return read(fd, &byte, 1) <= 0
    }

    static func record(_ type: UInt8, _ content: [UInt8], version: UInt8 = 1, declaredLength: Int? = nil) -> [UInt8] {
        let n = declaredLength ?? content.count
        return [version, type, 0, 1, UInt8(n >> 8), UInt8(n & 0xFF), 0, 0] + content
    }
    static let begin = record(1, [0, 1, 0, 0, 0, 0, 0, 0])
    static func param(_ name: String, _ value: String) -> [UInt8] {
        [UInt8(name.utf8.count), UInt8(value.utf8.count)] + Array(name.utf8) + Array(value.utf8)
    }
}
extension EndToEnd {
    @Suite struct HostileEndToEndTests {
        @Test func fastCGIGarbageNeitherKillsNorBlocksTheService() async throws {
            try await withStack("garbage", env: ["FCGI_IO_TIMEOUT_MS": "1500"]) { s in
                let path = s.socketPath
                var stalled: [RawPeer] = []
                // Garbage that ends at once.
                let oneShot: [[UInt8]] = [
                    [1, 1, 0],                                                   // truncated header
                    RawPeer.record(1, [0, 1, 0, 0, 0, 0, 0, 0], version: 9),     // bogus version
                    RawPeer.record(9, [1, 2, 3]),                                // unknown record type
                    (0..<65_536).map { _ in UInt8.random(in: 0...255) },         // noise
                    RawPeer.begin + RawPeer.record(4, [200, 200, 1, 2]),         // params with lengths past the record
                ]
                for bytes in oneShot {
                    let peer = try #require(RawPeer(path))
                    peer.send(bytes)
                    peer.close()
                }
                // Peers that stop mid-record and keep the connection open.
                for bytes in [RawPeer.begin + RawPeer.record(4, [], declaredLength: 65_535) + [1, 2, 3],
                              RawPeer.begin + RawPeer.record(4, RawPeer.param("REQUEST_METHOD", "GET")),
                              Array(RawPeer.begin.prefix(5))] {
                    let peer = try #require(RawPeer(path))
                    peer.send(bytes)
                    stalled.append(peer)
                }
                // Meanwhile, real requests keep being served, promptly.
                for _ in 0..<20 {
                    let began = Date()
                    let r = try await s.call("GET", "/-/healthz")
                    #expect(r.status == 200 && Date().timeIntervalSince(began) < 1.0)
                }
                // After the deadline the stalled peers are dropped: each sees its connection end.
                for peer in stalled {
                    #expect(peer.waitForEnd(timeoutMs: 5000), "a stalled peer was not dropped")
                    peer.close()
                }
                #expect(s.app?.isRunning == true)
                #expect(try await s.call("GET", "/-/ready").status == 200)
            }
        }

        @Test func oddExternalIdsAreStoredAndMatchedExactly() async throws {
            try await withStack("odd-ids") { s in
                let quoted = #"he said "hi" \ $where {"$ne":null}"#
                let long = "x" + String(repeating: "é$\"{}", count: 400)  // 2 kB of UTF-8
                let unicode = "médecin-😀-\u{200B}"
                func participant(_ id: String, _ group: String) -> String {
                    JSONValue.object(JSONObject([("userExternalId", .string(id)), ("groups", [.string(group)]), ("fullName", "N")])).jsonString
                }
                let first = try await s.create([participant("regular", "doctor")], number: 4, start: iso(3600), end: iso(5400))
                // An id that looks like a filter must not match the existing user.
                let ne = #"{"$ne":"nobody"}"#
                #expect(try await s.call("POST", "/teleconsultation/\(first)/participants/data", body: participant(ne, "patient")).status == 201)
                #expect(try await s.call("POST", "/teleconsultation/\(first)/participants/data", body: participant(quoted, "patient")).status == 201)
                #expect(try await s.call("POST", "/teleconsultation/\(first)/participants/data", body: participant(long, "patient")).status == 201)
                let users = try await s.state()["bandyer"]?["users"]?.arrayValue ?? []
                #expect(users.count == 4, "every odd id is its own user")
                let stored = try await s.teleconsultations().first?["participants"]?.arrayValue?.compactMap { $0["userExternalId"]?.stringValue } ?? []
                #expect(stored == ["regular", ne, quoted, long])
                // Matched exactly: the same ids again are recognised, not re-created.
                let second = try await s.create([participant(ne, "doctor"), participant(unicode, "patient")], number: 3, start: iso(3600), end: iso(5400))
                let again = try await s.call("POST", "/teleconsultation/\(second)/participants/data", body: participant(unicode, "patient"))
                #expect(again.status == 409 && again.json?["error"] == .string("Participant \(unicode) is already in teleconsultation \(second)"))
                // The long id is also a caller id (header), matched to the letter.
                let asCaller = try await s.call("GET", "/teleconsultation/\(first)", headers: ["miauserid": quoted])
                #expect(asCaller.status == 200)
                let notQuite = try await s.call("GET", "/teleconsultation/\(first)", headers: ["miauserid": quoted + "x"])
                #expect(notQuite.status == 401)
                // Every lookup was an encoded equality (today's name or the original's legacy one),
                // never an operator built from the id.
                for r in try await s.requests(service: "crud", path: "/teleconsultation-users/") where r["method"] == "GET" {
                    let q = try JSONParser.parse(r["query"]?["_q"]?.stringValue ?? "")
                    let branches = q["$or"]?.arrayValue ?? []
                    #expect(q.objectValue?.keys == ["$or"] && branches.count == 2, "\(q)")
                    let id = branches.first?["receivedUserId"]?.stringValue
                    #expect(id != nil && branches.last == ["auth0Id": .string(id ?? "")], "\(q)")
                }
            }
        }

        @Test func hostileBodiesAreClean4xxAndWriteNothing() async throws {
            try await withStack("bodies") { s in
                let deep = #"{"participants":"# + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}"
                let cases: [(body: [UInt8], status: Int)] = [
                    (Array(deep.utf8), 400),
                    (Array(#"{"participants":{"number":2,"data":[]},"start_date":"2026-02-30T10:00:00.000Z","end_date":"2026-03-02T10:00:00.000Z"}"#.utf8), 400),
                    (Array(#"{"participants":{"number":2,"data":[]},"participants":{"number":3,"data":[]},"start_date":"2026-03-01T10:00:00.000Z","end_date":"2026-03-02T10:00:00.000Z"}"#.utf8), 400),
                    (Array(#"{"participants":{"number":true,"data":"x"},"start_date":1,"end_date":null}"#.utf8), 400),
                    ([0xFF, 0xFE, 0x00, 0x7B], 400),
                    (Array(repeating: UInt8(ascii: "["), count: 5 << 20), 413),
                ]
                for c in cases {
                    let r = try await http("POST", s.base + "/teleconsultation", headers: ["content-type": "application/json"], bytes: c.body)
                    #expect(r.status == c.status, "\(r.status) \(r.text.prefix(200))")
                    #expect(r.json?["statusCode"]?.intValue == c.status && r.json?["message"]?.stringValue != nil)
                }
                #expect(try await s.requests().isEmpty, "no upstream call for a bad body")
                #expect(s.app?.isRunning == true)
            }
        }

        @Test func secretsAndNamesNeverReachLogsOrResponses() async throws {
            try await withStack("secrets", env: ["ADDITIONAL_HEADERS_TO_PROXY": "cookie,authorization", "LOG_LEVEL": "info"]) { s in
                let headers = ["cookie": "session=COOKIE-SECRET", "authorization": "Bearer AUTH-SECRET", "miauserid": "dr-who"]
                let id = try await s.create([#"{"userExternalId":"dr-who","groups":["doctor"],"fullName":"Secretname Doctor"}"#,
                                             #"{"userExternalId":"pat-1","groups":["patient"],"fullName":"Hiddenname Patient"}"#],
                                            start: iso(3600), end: iso(5400))
                // The caller sees the others' names on GET: that is the route's job.
                let join = try await s.call("GET", "/teleconsultation/\(id)", headers: headers).text
                #expect(join.contains("Secretname Doctor") && join.contains("Hiddenname Patient"))
                // Error answers carry none of it.
                try await s.fault(#"{"service":"bandyer","status":500,"body":"{\"error\":\"upstream said \#(Stack.key)\"}"}"#)
                var errors = ""
                let patch = try await s.call("PATCH", "/teleconsultation/\(id)", body: #"{"participants":{"number":2,"data":[{"userExternalId":"dr-2","groups":["doctor"],"fullName":"Hiddenname Three"},{"userExternalId":"pat-1","groups":["patient"],"fullName":"Hiddenname Patient"}]}}"#, headers: headers)
                let post = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[{"userExternalId":"n","groups":["doctor"],"fullName":"Hiddenname Two"},{"userExternalId":"m","groups":["patient"],"fullName":"M"}]},"start_date":"\#(iso(60))","end_date":"\#(iso(600))"}"#, headers: headers)
                #expect(patch.status == 502 && post.status == 502, "\(patch.status) \(patch.text) \(post.status) \(post.text)")
                errors += patch.text + post.text
                let logs = s.app?.stderr ?? ""
                #expect(logs.contains("request completed"))
                for secret in [Stack.key, "COOKIE-SECRET", "AUTH-SECRET", "Secretname", "Hiddenname"] {
                    #expect(!logs.contains(secret), "\(secret) in the logs")
                    #expect(!errors.contains(secret), "\(secret) in an error answer")
                }
                #expect(!errors.contains("upstream said"))
            }
        }
    }
}

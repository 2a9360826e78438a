import Foundation
import StrictJSON
import Testing
extension EndToEnd {
    /// Upstream faults at every step of every write: the answer is a clean 502/504 (or success
    /// when the step is not on the path), in time, and afterwards Bandyer and the CRUD agree.
    @Suite struct FaultEndToEndTests {
        static let timeoutMs = 250
        static let hangMs = 600

        /// Where a fault is injected: one upstream call of the write paths. In v2 the
        /// provider's steps (the CRUD's are the same whatever the dialect).
        static func steps(_ d: Dialect) -> [(name: String, fault: String)] {
            let crud: [(name: String, fault: String)] = [
                ("user lookup", #""service":"crud","method":"GET","path":"/teleconsultation-users/""#),
                ("map insert", #""service":"crud","method":"POST","path":"/teleconsultation-users/""#),
                ("document insert", #""service":"crud","method":"POST","path":"/teleconsultations/""#),
                ("document read", #""service":"crud","method":"GET","path":"/teleconsultations/""#),
                ("document update", #""service":"crud","method":"PATCH","path":"/teleconsultations/""#),
                ("state change", #""service":"crud","method":"POST","path":"/state""#),
            ]
            let provider: [(name: String, fault: String)] = [
                ("user creation", d.fault(d.createUser)),
                ("room creation", d.fault(d.createRoom)),
                ("room deletion", d.fault(d.deleteRoom())),
            ]
            return d == .v1 ? crud + provider : provider
        }
        /// "hang": no answer within the timeout, and the upstream never does the work.
        /// "late": no answer within the timeout, but the upstream does the work afterwards
        /// (the hard case for CRUD writes: the app must fence them before undoing anything).
        static let kinds: [(name: String, fault: String)] = [
            ("5xx", #""status":503,"times":1"#),
            ("hang", #""delayMs":\#(hangMs),"status":504,"times":1"#),
            ("late", #""delayMs":\#(hangMs),"times":1"#),
        ]

        /// A room that Bandyer creates after the app gave up cannot be found again: v1 has no
        /// room listing and no idempotency key. The app logs it at error level; it is left out.
        static func applies(_ step: String, _ kind: String) -> Bool { !(step == "room creation" && kind == "late") }

        enum Operation: String, CaseIterable, Sendable {
            case createComplete, addLastParticipant, patchReplacingRoom, delete
        }

        /// Rooms whose deletion the app reported failed, at error level, with their id: the one
        /// leak API.md accepts (an old room whose final deletion failed after a replacement).
        static func reportedRooms(_ s: Stack) -> Set<String> {
            var ids = Set<String>()
            for line in (s.app?.stderr ?? "").split(separator: "\n") {
                guard let v = try? JSONParser.parse(String(line)), v["level"] == 50, v["msg"] == "Bandyer room deletion failed",
                      let id = v["bandyerRoomId"]?.stringValue else { continue }
                ids.insert(id)
            }
            return ids
        }

        /// Bandyer holds no room that no document points to (but those reported), and no PUBLIC
        /// document points to a room that does not exist.
        static func checkInvariants(_ s: Stack, _ label: String) async throws {
            let state = try await s.state()
            let rooms = Set((state["bandyer"]?["rooms"]?.arrayValue ?? []).compactMap { $0["room_id"]?.stringValue }).subtracting(reportedRooms(s))
            let docs = state["crud"]?["teleconsultations"]?.arrayValue ?? []
            let public_ = Set(docs.filter { $0["__STATE__"] == "PUBLIC" }.compactMap { $0["bandyerRoomId"]?.stringValue })
            let anyDoc = Set(docs.compactMap { $0["bandyerRoomId"]?.stringValue })
            #expect(public_.isSubset(of: rooms), "\(label): a PUBLIC document points to a deleted room: \(public_.subtracting(rooms))")
            #expect(rooms.isSubset(of: anyDoc), "\(label): Bandyer holds rooms no document points to: \(rooms.subtracting(anyDoc))")
            for doc in docs where doc["__STATE__"] == "PUBLIC" {
                let links = doc["participants"]?.arrayValue?.compactMap { $0["accessLinkURL"]?.stringValue } ?? []
                #expect(doc["bandyerRoomId"] == nil ? links.isEmpty : links.count == doc["participants"]?.arrayValue?.count, "\(label): links disagree with the room")
            }
        }

        func run(_ operation: Operation, _ s: Stack, case n: Int, fault: String?) async throws -> HTTPAnswer {
            let doctor = #"{"userExternalId":"doc-\#(n)","groups":["doctor"],"fullName":"D"}"#
            let patient = #"{"userExternalId":"pat-\#(n)","groups":["patient"],"fullName":"P"}"#
            let base = Date().addingTimeInterval(3600)
            func inject() async throws { if let fault { try await s.fault("{\(fault)}") } }
            switch operation {
            case .createComplete:
                try await inject()
                return try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctor),\#(patient)]},"start_date":"\#(iso(0, from: base))","end_date":"\#(iso(1800, from: base))"}"#)
            case .addLastParticipant:
                let id = try await s.create([doctor], start: iso(0, from: base), end: iso(1800, from: base))
                try await inject()
                return try await s.call("POST", "/teleconsultation/\(id)/participants/data", body: patient)
            case .patchReplacingRoom:
                let id = try await s.create([doctor, patient], start: iso(0, from: base), end: iso(1800, from: base))
                try await inject()
                return try await s.call("PATCH", "/teleconsultation/\(id)", body: #"{"end_date":"\#(iso(2400, from: base))"}"#)
            case .delete:
                let id = try await s.create([doctor, patient], start: iso(0, from: base), end: iso(1800, from: base))
                try await inject()
                return try await s.call("DELETE", "/teleconsultation/\(id)")
            }
        }

        /// The four writes run side by side, each on its own stack: in v1 104 faults in the
        /// time of 26; in v2 the provider's steps, 32 more.
        @Test(arguments: Dialect.allCases)
        func everyStepOfEveryWriteFailingLeavesNoHalfDoneChange(_ d: Dialect) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for operation in Operation.allCases {
                    group.addTask { try await matrix(operation, d) }
                }
                try await group.waitForAll()
            }
        }

        func matrix(_ operation: Operation, _ d: Dialect) async throws {
            let env = ["UPSTREAM_TIMEOUT_MS": String(Self.timeoutMs), "UNLIMITED_TELECONSULTATION": "false"]
            try await withStack("faults-\(operation.rawValue)-\(d)", env: env, dialect: d) { s in
                var n = 0
                var outcomes: [String: Int] = [:]
                for step in Self.steps(d) {
                    for kind in Self.kinds where Self.applies(step.name, kind.name) {
                        n += 1
                        let label = "\(operation) with \(step.name) \(kind.name)"
                        let began = Date()
                        let r = try await run(operation, s, case: n, fault: "\(step.fault),\(kind.fault)")
                        let elapsed = Date().timeIntervalSince(began)
                        #expect([200, 201, 204, 502, 504].contains(r.status), "\(label): \(r.status) \(r.text)")
                        if r.status >= 500 {
                            #expect(r.json?["statusCode"]?.intValue == r.status && r.json?["error"] != nil, "\(label): not the error shape: \(r.text)")
                        }
                        // Within a few upstream timeouts (a write and its undo), never a hang.
                        #expect(elapsed < Double(Self.timeoutMs) / 1000 * 6 + 1, "\(label) took \(elapsed) s")
                        outcomes["\(r.status)", default: 0] += 1
                        // Let delayed requests land before judging.
                        try await s.waitForHeldRequests(0)
                        try await s.control("DELETE", "/faults")
                        try await Self.checkInvariants(s, label)
                        #expect(try await s.call("GET", "/-/healthz").status == 200)
                    }
                }
                // The error paths were really taken: failed answers, or (DELETE, which answers 204
                // whatever Bandyer does) room deletions reported at error level.
                #expect((outcomes["502"] ?? 0) + (outcomes["504"] ?? 0) > 0 || (operation == .delete && !Self.reportedRooms(s).isEmpty),
                        "\(operation): \(outcomes)")
                print("fault matrix \(operation) (\(d)): \(n) faults injected, outcomes \(outcomes.sorted { $0.key < $1.key })")
            }
        }

        @Test func unreachableUpstreamsAre502AndNothingIsWritten() async throws {
            try await withStack("refused", env: ["BANDYER_BASE_URL": "http://127.0.0.1:9/bandyer"]) { s in
                let doctor = #"{"userExternalId":"d","groups":["doctor"],"fullName":"D"}"#
                let r = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctor)]},"start_date":"\#(iso(60))","end_date":"\#(iso(600))"}"#)
                #expect(r.status == 502 && r.json?["error"] == "Bad Gateway")
                #expect(try await s.teleconsultations().isEmpty)
            }
            try await withStack("refused-crud", env: ["CRUD_SERVICE_URL": "http://127.0.0.1:9/crud"]) { s in
                let r = try await s.call("GET", "/teleconsultation/0123456789abcdef01234567", headers: ["miauserid": "u"])
                #expect(r.status == 502)
            }
            try await withStack("refused-auth0", auth0: true, env: ["AUTH_SERVICE": "http://127.0.0.1:9/auth0"]) { s in
                let r = try await s.call("POST", "/teleconsultation", body: #"{"participants":["a","b"],"start_date":"\#(iso(60))","end_date":"\#(iso(600))"}"#)
                #expect(r.status == 502)
            }
        }

        static let contractBreaches: [(Dialect, String)] = [
            (.v1, #"{"service":"crud","method":"POST","path":"/teleconsultation-users/","status":200,"body":"<html>hi</html>"}"#),
            (.v1, #"{"service":"bandyer","path":"/user/create","status":200,"body":"{\"user\":{}}"}"#),
            (.v1, #"{"service":"bandyer","path":"/user/create","status":201,"body":"{\"user_id\":\"../../etc\"}"}"#),
            (.v1, #"{"service":"bandyer","path":"/room/create","status":200,"body":"{\"room\":{\"room_id\":"}"#),
            (.v1, #"{"service":"bandyer","path":"/room/create","status":200,"body":"{\"room\":{\"room_id\":\"r1\",\"user_urls\":[]}}"}"#),
            (.v1, #"{"service":"crud","method":"POST","path":"/teleconsultations/","status":200,"body":"{}"}"#),
            (.v1, #"{"service":"crud","method":"GET","path":"/teleconsultation-users/","status":200,"body":"{\"not\":\"an array\"}"}"#),
            (.v2, #"{"service":"bandyer","method":"POST","path":"/v2/users","status":201,"body":"{\"user\":{}}"}"#),
            (.v2, #"{"service":"bandyer","method":"POST","path":"/v2/users","status":201,"body":"{\"id\":\"a/b\"}"}"#),
            (.v2, #"{"service":"bandyer","method":"POST","path":"/v2/rooms","status":201,"body":"{\"id\":"}"#),
            (.v2, #"{"service":"bandyer","method":"POST","path":"/v2/rooms","status":201,"body":"{\"participants\":[]}"}"#),
            (.v2, #"{"service":"bandyer","method":"POST","path":"/v2/rooms","status":201,"body":"{\"id\":\"r1\",\"participants\":[{\"user_id\":\"x\",\"link\":\"https://l\"}]}"}"#),
        ]

        @Test(arguments: contractBreaches)
        func answersOutsideTheContractAre502(_ d: Dialect, _ fault: String) async throws {
            try await withStack("contract", dialect: d) { s in
                try await s.fault(fault)
                let r = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctorJSON),\#(patientJSON)]},"start_date":"\#(iso(60))","end_date":"\#(iso(600))"}"#)
                #expect(r.status == 502, "\(fault): \(r.status) \(r.text)")
                #expect(!r.text.contains("html") && !r.text.contains("etc"))
                try await Self.checkInvariants(s, fault)
                #expect(try await s.teleconsultations().filter { $0["__STATE__"] == "PUBLIC" }.isEmpty)
                #expect(try await s.call("GET", "/-/healthz").status == 200)
            }
        }
    }
}

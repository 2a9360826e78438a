import Foundation
import StrictJSON
import Testing
extension EndToEnd {
    /// Upstream faults at every step of every write: each case has one specified answer (the
    /// write's own success when the step is not on its path, else 502 for a failed answer and
    /// 504 for none in time, naming the upstream), in time; a room made before the failure is
    /// deleted again; and afterwards Bandyer and the CRUD agree.
    @Suite struct FaultEndToEndTests {
        static let timeoutMs = 250

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
        static func upstream(of step: String) -> String { ["user creation", "room creation", "room deletion"].contains(step) ? "bandyer" : "crud" }

        /// "hang": no answer within the timeout, and the upstream never does the work.
        /// "late": no answer within the timeout, but the upstream does the work afterwards
        /// (the hard case for CRUD writes: the app must fence them before undoing anything).
        /// Both hold the request until the test releases it, after the app's answer: the late
        /// work always lands after the app gave up and fenced, whatever the machine's load.
        static let kinds: [(name: String, fault: String)] = [
            ("5xx", #""status":503,"times":1"#),
            ("hang", #""hold":true,"status":504,"times":1"#),
            ("late", #""hold":true,"times":1"#),
        ]

        /// A room that Bandyer creates after the app gave up cannot be found again: v1 has no
        /// room listing and no idempotency key. The app logs it at error level; it is left out.
        static func applies(_ step: String, _ kind: String) -> Bool { !(step == "room creation" && kind == "late") }

        enum Operation: String, CaseIterable, Sendable {
            case createComplete, addLastParticipant, patchReplacingRoom, delete

            /// The upstream calls the write makes once its setup is done, in order, each named by
            /// the steps whose fault matches it (the trash of a DELETE is a POST under
            /// /teleconsultations/ that ends in /state). Participants are new for each case:
            /// a create resolves both, an added patient is resolved, a PATCH finds both mapped.
            var path: [Set<String>] {
                switch self {
                case .createComplete:
                    return [["user lookup"], ["user creation"], ["map insert"], ["room creation"], ["document insert"], ["state change"]]
                case .addLastParticipant:
                    return [["document read"], ["user lookup"], ["user creation"], ["map insert"], ["room creation"], ["document update"]]
                case .patchReplacingRoom:
                    return [["document read"], ["user lookup"], ["room creation"], ["document update"], ["room deletion"]]
                case .delete:
                    return [["document read"], ["document insert", "state change"], ["room deletion"]]
                }
            }

            /// The answer when it succeeds.
            var success: Int { self == .createComplete || self == .addLastParticipant ? 201 : 204 }
            /// It replaces or drops the room the teleconsultation had.
            var dropsOldRoom: Bool { self == .patchReplacingRoom || self == .delete }
        }

        /// What a fault at `step` does to `operation`, as API.md specifies it.
        struct Expected {
            /// nil: the write succeeds (the step is not on its path, or, for the deletion of the
            /// room it replaced or dropped, a failure that is only logged).
            var failingUpstream: String?
            /// The step is on the path: the fault is used up.
            var faultUsed: Bool
            /// Room creations asked of Bandyer.
            var roomCreations: Int
            /// The room made before a later step failed is deleted again.
            var newRoomUndone: Bool
            /// The room the teleconsultation had is deleted (or, its deletion faulted, reported).
            var oldRoomDeleted: Bool

            init(_ operation: Operation, _ step: String) {
                let at = operation.path.firstIndex { $0.contains(step) }
                faultUsed = at != nil
                failingUpstream = at == nil || step == "room deletion" ? nil : FaultEndToEndTests.upstream(of: step)
                let reached = failingUpstream == nil ? operation.path[...] : operation.path[...at!]
                roomCreations = reached.filter { $0.contains("room creation") }.count
                newRoomUndone = failingUpstream != nil && roomCreations == 1 && step != "room creation"
                oldRoomDeleted = failingUpstream == nil && operation.dropsOldRoom
            }
        }

        static func errorBody(_ status: Int, _ upstream: String) -> String {
            status == 504 ? #"{"statusCode":504,"error":"Gateway Timeout","message":"The \#(upstream) service did not answer in time"}"#
                : #"{"statusCode":502,"error":"Bad Gateway","message":"The \#(upstream) service failed"}"#
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

        /// The teleconsultation a case works on, as it was once set up (before the fault).
        struct Setup {
            var id: String?
            var room: String?
            var endDate: String?
        }

        func run(_ operation: Operation, _ s: Stack, case n: Int, fault: String) async throws -> (HTTPAnswer, Setup) {
            let doctor = #"{"userExternalId":"doc-\#(n)","groups":["doctor"],"fullName":"D"}"#
            let patient = #"{"userExternalId":"pat-\#(n)","groups":["patient"],"fullName":"P"}"#
            let base = Date().addingTimeInterval(3600)
            func setUp(_ data: [String]) async throws -> Setup {
                let id = try await s.create(data, start: iso(0, from: base), end: iso(1800, from: base))
                let doc = try await s.teleconsultations().first { $0["_id"]?.stringValue == id }
                return Setup(id: id, room: doc?["bandyerRoomId"]?.stringValue, endDate: doc?["endDate"]?.stringValue)
            }
            var setup = Setup()
            switch operation {
            case .createComplete: break
            case .addLastParticipant: setup = try await setUp([doctor])
            case .patchReplacingRoom, .delete: setup = try await setUp([doctor, patient])
            }
            // The request log from here on is this case's.
            try await s.control("DELETE", "/requests")
            try await s.fault("{\(fault)}")
            let r: HTTPAnswer
            switch operation {
            case .createComplete:
                r = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctor),\#(patient)]},"start_date":"\#(iso(0, from: base))","end_date":"\#(iso(1800, from: base))"}"#)
            case .addLastParticipant:
                r = try await s.call("POST", "/teleconsultation/\(setup.id!)/participants/data", body: patient)
            case .patchReplacingRoom:
                r = try await s.call("PATCH", "/teleconsultation/\(setup.id!)", body: #"{"end_date":"\#(iso(2400, from: base))"}"#)
            case .delete:
                r = try await s.call("DELETE", "/teleconsultation/\(setup.id!)")
            }
            return (r, setup)
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
                for step in Self.steps(d) {
                    for kind in Self.kinds where Self.applies(step.name, kind.name) {
                        n += 1
                        let label = "\(operation) with \(step.name) \(kind.name) (\(d))"
                        let expected = Expected(operation, step.name)
                        let before = try await s.teleconsultations()
                        let began = Date()
                        let (r, setup) = try await run(operation, s, case: n, fault: "\(step.fault),\(kind.fault)")
                        let elapsed = Date().timeIntervalSince(began)
                        // Within a few upstream timeouts (a write and its undo), never a hang.
                        #expect(elapsed < Double(Self.timeoutMs) / 1000 * 6 + 1, "\(label) took \(elapsed) s")

                        // The answer: exactly the one specified.
                        if let upstream = expected.failingUpstream {
                            let status = kind.name == "5xx" ? 502 : 504
                            #expect(r.status == status && r.text == Self.errorBody(status, upstream), "\(label): \(r.status) \(r.text)")
                        } else {
                            #expect(r.status == operation.success, "\(label): \(r.status) \(r.text)")
                            if operation == .createComplete {
                                let id = r.json?["roomId"]?.stringValue ?? ""
                                #expect(r.text == #"{"roomId":"\#(id)"}"# && id.count == 24, "\(label): \(r.text)")
                            } else {
                                #expect(r.body.isEmpty, "\(label): \(r.text)")
                            }
                        }
                        // The fault was met exactly when the step is on the write's path, and a
                        // held request was still held when the app answered (it gave up by itself).
                        let faults = try await s.control("GET", "/faults").json
                        #expect(faults?["pending"]?.intValue == (expected.faultUsed ? 0 : 1), "\(label): \(faults?.jsonString ?? "")")
                        #expect(faults?["delaying"]?.intValue == (expected.faultUsed && kind.name != "5xx" ? 1 : 0), "\(label): \(faults?.jsonString ?? "")")

                        // The rooms: made, undone, replaced, as the path says.
                        let log = try await s.requests()
                        let created = log.filter { $0["service"] == "bandyer" && $0["method"]?.stringValue == d.createRoom.method && $0["path"]?.stringValue == d.createRoom.path }
                        let deleted = try await s.requests(d.deleteRoom()).compactMap { $0["path"]?.stringValue.map { String($0.dropFirst(d.deleteRoom().path.count)) } }
                        #expect(created.count == expected.roomCreations, "\(label): \(created.count) room creations")
                        let roomsBefore = Set(before.compactMap { $0["bandyerRoomId"]?.stringValue })
                        let undone = deleted.filter { !roomsBefore.contains($0) && $0 != setup.room }
                        #expect(undone.count == (expected.newRoomUndone ? 1 : 0), "\(label): new rooms deleted: \(undone)")
                        if let old = setup.room {
                            #expect(deleted.contains(old) == expected.oldRoomDeleted, "\(label): old room \(old), deleted \(deleted)")
                            if expected.oldRoomDeleted && step.name == "room deletion" {
                                // Its failed deletion is reported at error level with its id.
                                #expect(waitUntil(watching: [s.dir], exits: s.apps) { Self.reportedRooms(s).contains(old) },
                                        "\(label): the failed deletion of room \(old) was not logged at error level")
                            }
                        }

                        // The late work lands now, after the answer (held requests go on).
                        try await s.control("POST", "/faults/release")
                        try await s.waitForHeldRequests(0)
                        try await s.control("DELETE", "/faults")

                        // The teleconsultation: changed exactly when the answer says so.
                        let after = try await s.teleconsultations()
                        let doc = after.first { $0["_id"]?.stringValue == setup.id }
                        switch operation {
                        case .createComplete:
                            let published = Set(after.filter { $0["__STATE__"] == "PUBLIC" }.compactMap { $0["_id"]?.stringValue })
                                .subtracting(before.filter { $0["__STATE__"] == "PUBLIC" }.compactMap { $0["_id"]?.stringValue })
                            #expect(published == (r.status == 201 ? [r.json?["roomId"]?.stringValue ?? ""] : []), "\(label): published \(published)")
                        case .addLastParticipant:
                            #expect(doc?["participants"]?.arrayValue?.count == (r.status == 201 ? 2 : 1) && (doc?["bandyerRoomId"] != nil) == (r.status == 201),
                                    "\(label): \(doc?.jsonString ?? "")")
                        case .patchReplacingRoom:
                            let moved = r.status == 204
                            #expect((doc?["bandyerRoomId"]?.stringValue == setup.room) != moved && (doc?["endDate"]?.stringValue == setup.endDate) != moved,
                                    "\(label): \(doc?.jsonString ?? "")")
                        case .delete:
                            // A trash carried out late lands too (the sweep deletes its room).
                            let trashed = r.status == 204 || (kind.name == "late" && expected.faultUsed && step.name != "document read")
                            #expect(doc?["__STATE__"]?.stringValue == (trashed ? "TRASH" : "PUBLIC"), "\(label): \(doc?.jsonString ?? "")")
                        }
                        try await Self.checkInvariants(s, label)
                        #expect(try await s.call("GET", "/-/healthz").status == 200)
                    }
                }
                print("fault matrix \(operation) (\(d)): \(n) faults injected")
            }
        }

        @Test func unreachableUpstreamsAre502AndNothingIsWritten() async throws {
            try await withStack("refused", env: ["BANDYER_BASE_URL": "http://127.0.0.1:9/bandyer"]) { s in
                let doctor = #"{"userExternalId":"d","groups":["doctor"],"fullName":"D"}"#
                let r = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctor)]},"start_date":"\#(iso(60))","end_date":"\#(iso(600))"}"#)
                #expect(r.status == 502 && r.text == Self.errorBody(502, "bandyer"), "\(r.status) \(r.text)")
                #expect(try await s.teleconsultations().isEmpty)
            }
            try await withStack("refused-crud", env: ["CRUD_SERVICE_URL": "http://127.0.0.1:9/crud"]) { s in
                let r = try await s.call("GET", "/teleconsultation/0123456789abcdef01234567", headers: ["miauserid": "u"])
                #expect(r.status == 502 && r.text == Self.errorBody(502, "crud"), "\(r.status) \(r.text)")
            }
            try await withStack("refused-auth0", auth0: true, env: ["AUTH_SERVICE": "http://127.0.0.1:9/auth0"]) { s in
                let r = try await s.call("POST", "/teleconsultation", body: #"{"participants":["a","b"],"start_date":"\#(iso(60))","end_date":"\#(iso(600))"}"#)
                #expect(r.status == 502 && r.text == Self.errorBody(502, "auth0"), "\(r.status) \(r.text)")
                // Refused at the first step: nothing asked of Bandyer, nothing stored.
                let asked = try await s.requests(service: "bandyer")
                let stored = try await s.teleconsultations()
                #expect(asked.isEmpty && stored.isEmpty, "\(asked) \(stored)")
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
                // The upstream whose answer broke the contract is named; nothing of the answer is echoed.
                let upstream = fault.contains(#""service":"crud""#) ? "crud" : "bandyer"
                #expect(r.status == 502 && r.text == Self.errorBody(502, upstream), "\(fault): \(r.status) \(r.text)")
                // A room the answer named is deleted again (the stand-in never made it: the
                // deletion is refused there and logged).
                if fault.contains(#"\"r1\""#) {
                    #expect(try await s.requests(d.deleteRoom("r1")).count == 1, "\(fault): the room r1 was not deleted")
                }
                // The room made before the CRUD's insert answered outside the contract is deleted.
                if fault.contains(#""path":"/teleconsultations/""#) {
                    let deleted = try await s.requests(d.deleteRoom()).count
                    let rooms = try await s.rooms()
                    #expect(deleted == 1 && rooms.isEmpty, "\(fault): \(deleted) room deletions, rooms left: \(rooms)")
                }
                try await Self.checkInvariants(s, fault)
                #expect(try await s.teleconsultations().filter { $0["__STATE__"] == "PUBLIC" }.isEmpty)
                #expect(try await s.call("GET", "/-/healthz").status == 200)
            }
        }
    }
}

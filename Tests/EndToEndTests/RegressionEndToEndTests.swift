import Foundation
import Glibc
import StrictJSON
import Testing

extension EndToEnd {
    /// The defects a careful review found (issue 10), each through nginx against the stand-ins.
    @Suite struct RegressionEndToEndTests {
        @Test func aBodyOfAHundredThousandKeysIsRefusedQuicklyWhileOtherRequestsFlow() async throws {
            try await withStack("many-keys") { s in
                var text = "{"
                for i in 0..<100_000 { text += (i > 0 ? "," : "") + "\"k" + String(i, radix: 36) + "\":0" }
                let body = Array((text + "}").utf8)
                #expect(body.count < 1 << 20, "the body must be within MAX_BODY_BYTES: \(body.count)")
                async let probes: [(Int, Double)] = withThrowingTaskGroup(of: (Int, Double).self) { group in
                    for _ in 0..<10 {
                        group.addTask {
                            let began = Date()
                            let r = try await s.call("GET", "/-/healthz")
                            return (r.status, Date().timeIntervalSince(began))
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                let began = Date()
                let r = try await http("POST", s.base + "/teleconsultation", headers: ["content-type": "application/json"], bytes: body)
                let elapsed = Date().timeIntervalSince(began)
                #expect(r.status == 400 && r.json?["message"] == "body must NOT have additional property 'k0'", "\(r.text.prefix(200))")
                // Linear: a fraction of a second even in a debug build (quadratic was minutes).
                #expect(elapsed < 3, "a 100 000-key body took \(elapsed) s")
                for (status, seconds) in try await probes { #expect(status == 200 && seconds < 3, "a probe took \(seconds) s") }
                print("100 000-key body answered in \(Int(elapsed * 1000)) ms")
            }
        }

        @Test func metricsLabelOnlyKnownMethods() async throws {
            try await withStack("methods") { s in
                var invented: [String] = []
                for _ in 0..<30 { invented.append(String((0..<12).map { _ in "ABCDEFGHIJKLMNOPQRSTUVWXYZ".randomElement()! })) }
                invented.append(String(repeating: "Q", count: 4000))
                for m in invented {
                    let answer = rawHTTP(Array("\(m) /api/v1/telecons-be/-/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), port: s.port)
                    #expect(String(decoding: answer.prefix(12), as: UTF8.self).hasPrefix("HTTP/1.1 "))
                }
                let metrics = try await s.call("GET", "/-/metrics").text
                #expect(metrics.contains(#"method="other""#))
                for m in invented { #expect(!metrics.contains(m), "\(m.prefix(20)) became a label") }
            }
        }

        @Test func theRequestIdGoesOutOnceAndFramingHeadersNever() async throws {
            let proxied = "x-forwarded-for,x-request-id,x-forwarded-host,cookie,client-type,host,content-length,connection,transfer-encoding"
            try await withStack("proxied", env: ["ADDITIONAL_HEADERS_TO_PROXY": proxied]) { s in
                let headers = ["x-request-id": "rid-77", "cookie": "sid=1", "x-forwarded-for": "10.0.0.9"]
                _ = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctorJSON)]},"start_date":"\#(iso(60))","end_date":"\#(iso(600))"}"#,
                                     headers: headers)
                let crud = try await s.requests(service: "crud")
                #expect(!crud.isEmpty)
                for r in crud {
                    let h = r["headers"]
                    #expect(h?["x-request-id"] == "rid-77", "\(h?["x-request-id"] ?? .null)")
                    #expect(h?["cookie"] == "sid=1" && h?["x-forwarded-for"] == "10.0.0.9")
                    #expect(h?["transfer-encoding"] == nil)
                    #expect(h?["content-length"]?.arrayValue == nil && h?["connection"]?.arrayValue == nil)
                }
                let log = s.app?.stderr ?? ""
                for name in ["host", "content-length", "connection", "transfer-encoding"] {
                    #expect(log.contains("ADDITIONAL_HEADERS_TO_PROXY: \(name) is a hop-by-hop or framing header and is never proxied"))
                }
            }
        }

        @Test func anUnexpectedUpstreamAnswerIsLoggedWithItsStatusAndLengthButNotItsBody() async throws {
            try await withStack("diagnose") { s in
                try await s.fault(#"{"service":"crud","method":"POST","path":"/teleconsultations/","status":400,"body":"{\"statusCode\":400,\"error\":\"Bad Request\",\"message\":\"body must NOT have additional properties: colour\"}","times":1}"#)
                let r = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctorJSON)]},"start_date":"\#(iso(60))","end_date":"\#(iso(600))"}"#)
                #expect(r.status == 502 && !r.text.contains("colour"))
                let line = try #require(s.app?.stderr.split(separator: "\n").first { $0.contains("upstream answered outside the contract") })
                let v = try JSONParser.parse(String(line))
                #expect(v["level"] == 40 && v["upstream"] == "crud" && v["status"] == 400 && v["operation"] == "create")
                #expect(v["body"] == nil && !line.contains("colour"), "an upstream's error body is never logged: \(line)")
                #expect(v["bodyLength"] != nil && v["reqId"]?.stringValue?.isEmpty == false, "\(line)")
            }
        }

        @Test func getAnswersFromTheCRUDWhenAuth0ClientIsDown() async throws {
            try await withStack("auth0-down", auth0: true, env: ["DEFAULT_CLIENT_TYPE": "frontend"]) { s in
                try await s.seedAuth0(#"[{"user_id":"d","name":"Doc","groups":["doctor"]},{"user_id":"p","name":"Pat","groups":["patient"]}]"#)
                let id = try await s.create([#"{"userExternalId":"d"}"#, #"{"userExternalId":"p"}"#])
                try await s.fault(#"{"service":"auth0","status":503}"#)
                let r = try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "p"])
                #expect(r.status == 200 && r.json?["accessLinkURL"]?.stringValue != nil, "\(r.status) \(r.text)")
                #expect(r.json?["participantsBandyerCall"]?.arrayValue?.map { $0["fullName"] } == [.null, .null])
                #expect(s.app?.stderr.contains("participants' names could not be fetched") == true)
            }
        }

        @Test func documentsOfTheOriginalsFirstSchemaAreReadJoinedAndDeleted() async throws {
            try await withStack("legacy") { s in
                let id = "aaaaaaaaaaaaaaaaaaaaaa01"
                // 1.0–1.1: the user map says auth0Id; participants carry bandyerId; no dates, no participantsNumber.
                try await s.control("POST", "/crud/teleconsultation-users", #"[{"_id":"bbbbbbbbbbbbbbbbbbbbbb01","auth0Id":"old-doc","bandyerId":"b_doc","createdAt":"2021-12-01T00:00:00.000Z"},{"_id":"bbbbbbbbbbbbbbbbbbbbbb02","auth0Id":"old-pat","bandyerId":"b_pat","createdAt":"2021-12-01T00:00:00.000Z"}]"#)
                try await s.control("POST", "/crud/teleconsultations", #"[{"_id":"\#(id)","bandyerRoomId":"room_old","participants":[{"bandyerId":"b_doc","accessLinkURL":"https://v/old/doc"},{"bandyerId":"b_pat","accessLinkURL":"https://v/old/pat"}]}]"#)
                let join = try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "old-pat"])
                #expect(join.status == 200 && join.json?["bandyerUserId"] == "b_pat" && join.json?["accessLinkURL"] == "https://v/old/pat", "\(join.text)")
                #expect(try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "someone"]).status == 401)
                let change = try await s.call("PATCH", "/teleconsultation/\(id)", body: #"{"end_date":"\#(iso(600))"}"#)
                #expect(change.status == 409 && change.json?["error"] == .string("Teleconsultation \(id) can no longer be changed"))
                // A legacy map entry is used, and written in today's names when it changes.
                _ = try await s.create([#"{"userExternalId":"old-pat","groups":["doctor"],"fullName":"P"}"#], number: 3)
                let entry = try #require(try await s.state()["crud"]?["teleconsultation-users"]?.arrayValue?.first { $0["_id"] == "bbbbbbbbbbbbbbbbbbbbbb02" })
                #expect(entry["receivedUserId"] == "old-pat" && entry["auth0Id"] == nil && entry["role"] == "plus" && entry["bandyerId"] != "b_pat")
                #expect(try await s.call("DELETE", "/teleconsultation/\(id)").status == 204)
                #expect(try await s.teleconsultations().first { $0["_id"]?.stringValue == id }?["__STATE__"] == "TRASH")
            }
        }

        @Test func storedDataOutsideTheContractIsA502NeverACrash() async throws {
            try await withStack("bad-data") { s in
                let id = "aaaaaaaaaaaaaaaaaaaaaa02"
                try await s.control("POST", "/crud/teleconsultations", #"[{"_id":"\#(id)","startDate":"2026-01-01T10:00:00.000Z","endDate":"2026-01-01T11:00:00.000Z","participantsNumber":2,"bandyerRoomId":"../../admin","participants":[{"userExternalId":"u","userBandyerId":"b"}]}]"#)
                #expect(try await s.call("DELETE", "/teleconsultation/\(id)").status == 502)
                #expect(try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "u"]).status == 502)
                #expect(s.app?.isRunning == true)
                #expect(try await s.requests(service: "bandyer").isEmpty)
                #expect(try await s.call("GET", "/-/healthz").status == 200)
            }
        }

        @Test func theNoPlusUserTextComesBeforeTheDurationCheck() async throws {
            try await withStack("order", env: ["UNLIMITED_TELECONSULTATION": "false"]) { s in
                let body = #"{"participants":{"number":2,"data":[\#(patientJSON),{"userExternalId":"p2","groups":["patient"],"fullName":"P2"}]},"start_date":"\#(iso(600))","end_date":"\#(iso(610))"}"#
                let r = try await s.call("POST", "/teleconsultation", body: body)
                #expect(r.status == 400 && r.json?["error"] == "Failed POST /teleconsultation: no plus user in room", "\(r.text)")
            }
        }

        @Test(arguments: Dialect.allCases)
        func aRoomWithoutLinksIsDeletedOrReportedNeverLeftSilently(_ d: Dialect) async throws {
            try await withStack("no-links", dialect: d) { s in
                try await s.fault("{\(d.fault(d.createRoom)),\"strip\":[\"\(d.linksKey)\"],\"times\":1}")
                let r = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctorJSON),\#(patientJSON)]},"start_date":"\#(iso(60))","end_date":"\#(iso(600))"}"#)
                #expect(r.status == 502 && r.json?["statusCode"] == 502)
                #expect(try await s.requests(d.deleteRoom()).count == 1)
                #expect(try await s.rooms().isEmpty)
                #expect(try await s.teleconsultations().isEmpty)
                // When that deletion fails too, the room id is logged at error level.
                try await s.fault("{\(d.fault(d.createRoom)),\"strip\":[\"\(d.linksKey)\"],\"times\":1}")
                try await s.fault(#"{"service":"bandyer","method":"DELETE","status":503,"times":1}"#)
                _ = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctorJSON),\#(patientJSON)]},"start_date":"\#(iso(60))","end_date":"\#(iso(600))"}"#)
                let leaked = try #require(try await s.rooms().first?["room_id"]?.stringValue)
                #expect(waitUntil { s.app?.stderr.contains(#""bandyerRoomId":"\#(leaked)""#) == true })
                #expect(s.app?.stderr.contains(#""level":50"#) == true)
            }
        }

        @Test func undoStepsShareOneBoundAndTheDrainOutlastsIt() async throws {
            // Work may take 0.5 s and all undo together 0.5 s more, though each call may wait 4 s.
            let env = ["REQUEST_TIMEOUT_MS": "500", "COMPENSATION_TIMEOUT_MS": "500", "UPSTREAM_TIMEOUT_MS": "4000"]
            try await withStack("bound", env: env) { s in
                // The document insert hangs past the deadline; so does the deletion of the room made before it.
                try await s.fault(#"{"service":"crud","method":"POST","path":"/teleconsultations/","delayMs":3000,"status":504,"times":1}"#)
                try await s.fault(#"{"service":"bandyer","method":"DELETE","delayMs":3000,"status":504,"times":1}"#)
                let began = Date()
                async let answer = s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctorJSON),\#(patientJSON)]},"start_date":"\#(iso(60))","end_date":"\#(iso(600))"}"#)
                try await s.waitForHeldRequests(atLeast: 1)
                // SIGTERM while it is in flight: the default drain (bound + 5 s) lets it finish.
                s.app?.signal(SIGTERM)
                let r = try await answer
                let elapsed = Date().timeIntervalSince(began)
                #expect(r.status == 504, "\(r.status) \(r.text)")
                #expect(elapsed < 2.5, "the request took \(elapsed) s: its undo steps were not bounded together")
                #expect(s.app?.waitForExit() == 0)
                let room = try #require(try await s.rooms().first?["room_id"]?.stringValue)
                #expect(s.app?.stderr.contains(#""bandyerRoomId":"\#(room)""#) == true)
            }
        }
    }
}

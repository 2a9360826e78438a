import Foundation
import StrictJSON
import Testing

func isoDate(_ text: String) -> Date? {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.date(from: text)
}

extension Stack {
    func createBody(_ data: [String], number: Int = 2, start: String = iso(-60), end: String = iso(1800)) -> String {
        #"{"participants":{"number":\#(number),"data":[\#(data.joined(separator: ","))]},"start_date":"\#(start)","end_date":"\#(end)"}"#
    }

    /// Requests that wrote to the teleconsultations, the user map or the provider.
    func businessWrites() async throws -> [JSONValue] {
        try await requests().filter { r in
            guard r["method"]?.stringValue != "GET" else { return false }
            let path = r["path"]?.stringValue ?? ""
            return r["service"] == "bandyer" || path.contains("/teleconsultations/") || path.contains("/teleconsultation-users/")
        }
    }

    func auditRecords() async throws -> [JSONValue] { try await state()["crud"]?["teleconsultation-audit"]?.arrayValue ?? [] }
}

extension EndToEnd {
    /// API.md, "Beyond the original": Idempotency-Key, the join window, the audit trail.
    @Suite struct BeyondEndToEndTests {
        // MARK: Idempotency-Key

        @Test func aRetriedCreateGetsTheKeptAnswerAndWritesNothing() async throws {
            try await withStack("idem-replay", dialect: .v2) { s in
                let (start, end) = (iso(-60), iso(1800))
                let body = s.createBody([doctorJSON, patientJSON], start: start, end: end)
                let key = ["idempotency-key": "create-1", "miauserid": "dr-who"]
                let first = try await s.call("POST", "/teleconsultation", body: body, headers: key)
                #expect(first.status == 201 && first.headers["idempotent-replayed"] == nil, "\(first.text)")
                try await s.clearRequests()
                // The same JSON value in another key order and spacing: the same request.
                let reordered = #"{ "end_date": "\#(end)", "start_date": "\#(start)", "participants": {"data": [\#(doctorJSON), \#(patientJSON)], "number": 2} }"#
                let again = try await s.call("POST", "/teleconsultation", body: reordered, headers: key)
                #expect(again.status == 201 && again.text == first.text, "\(again.text)")
                #expect(again.headers["idempotent-replayed"] == "true")
                let writes = try await s.businessWrites()
                #expect(writes.isEmpty, "a replay wrote: \(writes)")
                #expect(try await s.teleconsultations().count == 1)
                #expect(try await s.rooms().count == 1)
                // Another caller with the same key is another request altogether.
                let other = try await s.call("POST", "/teleconsultation", body: body, headers: ["idempotency-key": "create-1", "miauserid": "pat-1"])
                #expect(other.status == 201 && other.headers["idempotent-replayed"] == nil && other.text != first.text)
                // The same key with another body: 422, nothing written.
                try await s.clearRequests()
                let changed = try await s.call("POST", "/teleconsultation", body: s.createBody([doctorJSON, patientJSON], end: iso(3600)), headers: key)
                #expect(changed.status == 422 && changed.json?["error"] == "Idempotency-Key reused with a different request", "\(changed.text)")
                #expect(try await s.businessWrites().isEmpty)
            }
        }

        @Test func aKeyInProgressIs409AndA5xxIsNotKept() async throws {
            try await withStack("idem-progress", dialect: .v2) { s in
                let body = s.createBody([doctorJSON, patientJSON])
                let key = ["idempotency-key": "slow-1"]
                try await s.fault(#"{"service":"bandyer","method":"POST","path":"/v2/rooms","delayMs":1500,"times":1}"#)
                async let first = s.call("POST", "/teleconsultation", body: body, headers: key)
                try await s.waitForHeldRequests(atLeast: 1)
                let during = try await s.call("POST", "/teleconsultation", body: body, headers: key)
                #expect(during.status == 409 && during.json?["error"] == "A request with this Idempotency-Key is in progress", "\(during.text)")
                #expect(try await first.status == 201)

                // A 502 is not kept: the retry is processed afresh and succeeds.
                try await s.fault(#"{"service":"bandyer","method":"POST","path":"/v2/rooms","status":503,"times":1}"#)
                let failed = try await s.call("POST", "/teleconsultation", body: body, headers: ["idempotency-key": "flaky-1"])
                #expect(failed.status == 502, "\(failed.text)")
                let retried = try await s.call("POST", "/teleconsultation", body: body, headers: ["idempotency-key": "flaky-1"])
                #expect(retried.status == 201 && retried.headers["idempotent-replayed"] == nil, "\(retried.text)")
                #expect(try await s.teleconsultations().filter { $0["__STATE__"] == "PUBLIC" }.count == 2)
            }
        }

        @Test func twentyIdenticalCreatesAtOnceOverTwoProcessesMakeOneTeleconsultationAndOneRoom() async throws {
            try await withStack("idem-race", instances: 2, dialect: .v2) { s in
                let body = s.createBody([doctorJSON, patientJSON])
                let answers = try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                    for _ in 0..<20 { group.addTask { try await s.call("POST", "/teleconsultation", body: body, headers: ["idempotency-key": "race-1"]) } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(answers.allSatisfy { $0.status == 201 || $0.status == 409 }, "\(answers.map(\.status))")
                let ids = Set(answers.filter { $0.status == 201 }.compactMap { $0.json?["roomId"]?.stringValue })
                #expect(ids.count == 1, "\(ids)")
                #expect(try await s.teleconsultations().count == 1)
                #expect(try await s.rooms().count == 1)
                // Both processes took part (nginx takes turns): each names its requests with its own prefix.
                let inserts = try await s.requests(service: "crud").filter { $0["method"] == "POST" && ($0["path"]?.stringValue ?? "").contains("idempotency") }
                let processes = Set(inserts.compactMap { $0["headers"]?["x-request-id"]?.stringValue?.split(separator: "-").first })
                #expect(processes.count == 2, "\(inserts.count) inserts from \(processes)")
            }
        }

        @Test func theOtherCreatingRoutesHonourTheKeyToo() async throws {
            try await withStack("idem-routes", dialect: .v1) { s in
                let id = try await s.create([doctorJSON], number: 2)
                let key = ["idempotency-key": "add-pat", "miauserid": "dr-who"]
                let added = try await s.call("POST", "/teleconsultation/\(id)/participants/data", body: patientJSON, headers: key)
                #expect(added.status == 201, "\(added.text)")
                let again = try await s.call("POST", "/teleconsultation/\(id)/participants/data", body: patientJSON, headers: key)
                #expect(again.status == 201 && again.headers["idempotent-replayed"] == "true", "\(again.text)")
                let token = try await s.call("POST", "/credentials", body: "{}", headers: ["idempotency-key": "tok", "miauserid": "dr-who"])
                let sameToken = try await s.call("POST", "/credentials", body: " { } ", headers: ["idempotency-key": "tok", "miauserid": "dr-who"])
                #expect(token.status == 201 && sameToken.status == 201 && sameToken.text == token.text && sameToken.headers["idempotent-replayed"] == "true")
                #expect(try await s.requests(service: "bandyer").filter { ($0["path"]?.stringValue ?? "").contains("credentials") }.count == 1)
            }
        }

        @Test(arguments: [String(repeating: "k", count: 256), "tab\there"])
        func aKeyTooLongOrWithControlCharactersIs400(_ key: String) async throws {
            try await withStack("idem-bad", dialect: .v1) { s in
                let r = try await s.call("POST", "/teleconsultation", body: s.createBody([doctorJSON, patientJSON]), headers: ["idempotency-key": key])
                #expect(r.status == 400 && r.json?["message"] == "headers/idempotency-key must be 1 to 255 printable ASCII characters", "\(r.status) \(r.text)")
                #expect(try await s.teleconsultations().isEmpty)
            }
        }

        // MARK: the join window

        @Test func aWaitingRoomIsToldWhenAndWhy() async throws {
            try await withStack("window", env: ["IMMUTABLE_PERIOD_MS": "600000"], dialect: .v2) { s in
                let caller = ["miauserid": "dr-who"]
                // Complete, starting in an hour: too early until ten minutes before.
                let start = iso(3600)
                let early = try await s.create([doctorJSON, patientJSON], start: start, end: iso(7200))
                let r = try await s.call("GET", "/teleconsultation/\(early)", headers: caller)
                #expect(r.status == 200 && r.json?["accessLinkURL"] == .null && r.json?["accessLinkReason"] == "too_early", "\(r.text)")
                let opens = try #require(r.json?["accessOpensAt"]?.stringValue.flatMap(isoDate))
                let startDate = try #require(isoDate(start))
                #expect(abs(opens.timeIntervalSince(startDate) + 600) < 0.002)
                #expect(r.json?["scheduledEndAt"]?.stringValue != nil)
                #expect(r.headers["retry-after"] == "60")
                // Started, one participant missing.
                let waiting = try await s.create([doctorJSON], start: iso(-60))
                let w = try await s.call("GET", "/teleconsultation/\(waiting)", headers: caller)
                #expect(w.json?["accessLinkReason"] == "participants_missing" && w.headers["retry-after"] == "5", "\(w.text)")
                // Open: a link, no reason, no Retry-After.
                let open = try await s.create([doctorJSON, patientJSON], start: iso(-60))
                let o = try await s.call("GET", "/teleconsultation/\(open)", headers: caller)
                #expect(o.json?["accessLinkURL"]?.stringValue != nil && o.json?["accessLinkReason"] == .null && o.headers["retry-after"] == nil, "\(o.text)")
            }
        }

        // MARK: the audit trail

        static let auditEnv = ["AUDIT_CRUD_NAME": "teleconsultation-audit", "TELECONSULTATION_DELETE_UPLOADS": "true"]

        @Test func eachActionIsRecordedOnceWithItsActorAndSubject() async throws {
            try await withStack("audit", env: Self.auditEnv, dialect: .v2) { s in
                let doctor = ["miauserid": "dr-who"]
                let created = try await s.call("POST", "/teleconsultation", body: s.createBody([doctorJSON]), headers: doctor)
                let id = try #require(created.json?["roomId"]?.stringValue)
                #expect(try await s.call("PATCH", "/teleconsultation/\(id)", body: #"{"end_date":"\#(iso(3600))"}"#, headers: doctor).status == 204)
                #expect(try await s.call("POST", "/teleconsultation/\(id)/participants/data", body: patientJSON, headers: doctor).status == 201)
                for _ in 0..<3 {
                    #expect(try await s.call("GET", "/teleconsultation/\(id)", headers: doctor).json?["accessLinkURL"]?.stringValue != nil)
                    #expect(try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "pat-1"]).status == 200)
                }
                #expect(try await s.call("POST", "/credentials", body: "{}", headers: ["miauserid": "pat-1"]).status == 201)
                #expect(try await s.call("DELETE", "/teleconsultation/\(id)/uploads", headers: doctor).status == 200)

                let page = try await s.call("GET", "/teleconsultation/\(id)/audit", headers: doctor)
                #expect(page.status == 200, "\(page.text)")
                let records = try #require(page.json?["records"]?.arrayValue)
                let seen = records.map { "\($0["action"]?.stringValue ?? "") \($0["actor"]?.stringValue ?? "-") \($0["subject"]?.stringValue ?? "-")" }
                #expect(Set(seen) == ["create dr-who -", "update dr-who -", "participants_data dr-who pat-1", "link_issued dr-who dr-who",
                                      "link_issued pat-1 pat-1", "delete_uploads dr-who -"], "\(seen)")
                #expect(seen.count == 6 && page.json?["next"] == .null)
                #expect(records.allSatisfy { $0["teleconsultationId"]?.stringValue == id && $0["outcome"]?.intValue != nil && $0["requestId"]?.stringValue != nil })
                // Newest first.
                let times = records.compactMap { $0["at"]?.stringValue }
                #expect(times == times.sorted(by: >))
                // The token's record names no teleconsultation; all told, one record per action.
                let all = try await s.auditRecords()
                #expect(all.filter { $0["action"] == "credentials" }.map { $0["subject"] } == ["pat-1"])
                #expect(all.count == 7)

                // Paging.
                let first = try await s.call("GET", "/teleconsultation/\(id)/audit?limit=4", headers: doctor)
                let next = try #require(first.json?["next"]?.stringValue)
                #expect(first.json?["records"]?.arrayValue?.count == 4)
                let rest = try await s.call("GET", "/teleconsultation/\(id)/audit?limit=4&before=\(next)", headers: doctor)
                #expect(rest.json?["records"]?.arrayValue?.count == 2 && rest.json?["next"] == .null, "\(rest.text)")

                // Only plus participants read it; bad queries are named.
                let patient = try await s.call("GET", "/teleconsultation/\(id)/audit", headers: ["miauserid": "pat-1"])
                #expect(patient.status == 401 && patient.json?["error"] == "Unauthorized user")
                let bad = try await s.call("GET", "/teleconsultation/\(id)/audit?limit=0", headers: doctor)
                #expect(bad.status == 400 && bad.json?["message"]?.stringValue?.hasPrefix("query/limit") == true)

                #expect(try await s.call("DELETE", "/teleconsultation/\(id)", headers: doctor).status == 204)
                #expect(try await s.auditRecords().filter { $0["action"] == "delete" }.count == 1)
            }
        }

        @Test(arguments: [false, true])
        func aFailingAuditCollectionStopsLinksOnlyWhenRequired(_ required: Bool) async throws {
            var env = Self.auditEnv
            if required { env["AUDIT_REQUIRED"] = "true" }
            try await withStack("audit-down-\(required)", env: env, dialect: .v1) { s in
                let id = try await s.create([doctorJSON, patientJSON])
                try await s.fault(#"{"service":"crud","method":"POST","path":"/teleconsultation-audit/","status":503}"#)
                let r = try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "dr-who"])
                let token = try await s.call("POST", "/credentials", body: "{}", headers: ["miauserid": "dr-who"])
                if required {
                    #expect(r.status == 503 && r.json?["accessLinkURL"] == nil && !r.text.contains("https://"), "\(r.text)")
                    #expect(token.status == 503 && token.json?["accessToken"] == nil)
                } else {
                    #expect(r.status == 200 && r.json?["accessLinkURL"]?.stringValue != nil)
                    #expect(token.status == 201)
                }
                let metrics = try await s.call("GET", "/-/metrics")
                #expect(metrics.text.contains("audit_write_failures_total 2") || metrics.text.contains("audit_write_failures_total{} 2"),
                        "\(metrics.text.split(separator: "\n").filter { $0.contains("audit") })")
            }
        }
    }
}

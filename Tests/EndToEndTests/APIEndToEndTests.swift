import Foundation
import StrictJSON
import Testing

func iso(_ offsetSeconds: Double, from base: Date = Date()) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.string(from: base.addingTimeInterval(offsetSeconds))
}

let doctorJSON = #"{"userExternalId":"dr-who","groups":["doctor"],"fullName":"Dr Who","language":"en"}"#
let patientJSON = #"{"userExternalId":"pat-1","groups":["patient"],"fullName":"Pat One"}"#

extension Stack {
    func create(_ data: [String], number: Int = 2, start: String = iso(-60), end: String = iso(1800)) async throws -> String {
        let r = try await call("POST", "/teleconsultation", body: #"{"participants":{"number":\#(number),"data":[\#(data.joined(separator: ","))]},"start_date":"\#(start)","end_date":"\#(end)"}"#)
        guard r.status == 201, let id = r.json?["roomId"]?.stringValue else { throw StackError("create failed: \(r.status) \(r.text)") }
        return id
    }

    func requests(service: String, path: String? = nil) async throws -> [JSONValue] {
        try await requests().filter { $0["service"]?.stringValue == service && (path == nil || $0["path"]?.stringValue?.hasPrefix(path!) == true) }
    }
}
extension EndToEnd {
    /// Every route and error text of API.md, through nginx, against the stand-ins.
    @Suite struct APIEndToEndTests {
        @Test(arguments: Dialect.allCases)
        func standaloneFlowFromCreationToDeletion(_ d: Dialect) async throws {
            try await withStack("flow", env: ["ADDITIONAL_HEADERS_TO_PROXY": "cookie"], dialect: d) { s in
                let headers = ["x-request-id": "flow-1", "miauserid": "creator-7", "cookie": "sid=secret"]
                let created = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctorJSON)]},"start_date":"\#(iso(-60))","end_date":"\#(iso(1800))"}"#, headers: headers)
                #expect(created.status == 201)
                let id = try #require(created.json?["roomId"]?.stringValue)

                // What the CRUD stored, and what each upstream received.
                let stored = try #require(try await s.teleconsultations().first)
                #expect(stored["_id"]?.stringValue == id && stored["__STATE__"] == "PUBLIC" && stored["version"] == 1)
                #expect(stored["teleconsultationState"] == "WAITING_PARTICIPANTS" && stored["bandyerRoomId"] == nil)
                #expect(stored["participantsNumber"] == 2 && stored["creatorId"] == "creator-7")
                let p0 = try #require(stored["participants"]?.arrayValue?.first)
                #expect(p0["userExternalId"] == "dr-who" && p0["groups"] == ["doctor"] && p0["fullName"] == "Dr Who" && p0["language"] == "en")
                let userCreate = try await s.requests(d.createUser)
                #expect(userCreate.count == 1 && userCreate[0]["body"] == ["role": "plus"])
                #expect(userCreate[0]["headers"]?["apikey"] == .string(Stack.key))
                #expect(userCreate[0]["headers"]?["cookie"] == nil && userCreate[0]["headers"]?["miauserid"] == nil)
                #expect(userCreate[0]["headers"]?["x-request-id"] == "flow-1")
                let crudCalls = try await s.requests(service: "crud")
                #expect(crudCalls.allSatisfy { $0["headers"]?["x-request-id"] == "flow-1" && $0["headers"]?["cookie"] == "sid=secret" && $0["headers"]?["miauserid"] == "creator-7" })
                let mapInsert = try #require(crudCalls.first { $0["method"] == "POST" && $0["path"] == "/teleconsultation-users/" })
                #expect(mapInsert["body"]?["receivedUserId"] == "dr-who" && mapInsert["body"]?["role"] == "plus" && mapInsert["body"]?["__STATE__"] == "PUBLIC")

                // No room yet: the link is null.
                let waiting = try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "dr-who"])
                #expect(waiting.status == 200 && waiting.json?["accessLinkURL"] == .null)
                let doctorBandyer = try #require(waiting.json?["bandyerUserId"]?.stringValue)
                #expect(waiting.json?["participantsBandyerCall"] == [["bandyerUserId": .string(doctorBandyer), "fullName": "Dr Who"]])

                // The last participant: the room is created now.
                let added = try await s.call("POST", "/teleconsultation/\(id)/participants/data", body: patientJSON)
                #expect(added.status == 201 && added.body.isEmpty)
                let roomCreate = try #require(try await s.requests(d.createRoom).first)
                let participants = try #require(roomCreate["body"]?["participants"]?.arrayValue)
                #expect(participants.map { $0["is_admin"] } == [true, false])
                #expect(participants[0]["user_id"]?.stringValue == doctorBandyer && participants.allSatisfy { $0["tools"] == nil })
                #expect(roomCreate["body"]?["live"] == true && roomCreate["body"]?["duration"] == nil)

                let doctor = try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "dr-who"])
                let patient = try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "pat-1"])
                let room = try #require(try await s.rooms().first)
                let urls = try #require(room["user_urls"]?.arrayValue)
                #expect(doctor.json?["accessLinkURL"] == urls.first { $0["user"]?.stringValue == doctorBandyer }?["url"])
                #expect(patient.json?["accessLinkURL"] != doctor.json?["accessLinkURL"] && patient.json?["accessLinkURL"]?.stringValue != nil)
                #expect(patient.json?["participantsBandyerCall"]?.arrayValue?.map { $0["fullName"] } == ["Dr Who", "Pat One"])

                let stranger = try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "eve"])
                #expect(stranger.status == 401 && stranger.json == ["statusCode": 401, "error": "Unauthorized user", "message": "Unauthorized user"])
                #expect(try await s.call("GET", "/teleconsultation/\(id)").status == 401)

                // Complete and past its start: frozen (immutability is checked before completeness).
                let more = try await s.call("POST", "/teleconsultation/\(id)/participants/data", body: #"{"userExternalId":"x","groups":["patient"],"fullName":"X"}"#)
                #expect(more.status == 409 && more.json?["error"] == .string("Teleconsultation \(id) can no longer be changed"))
                let frozen = try await s.call("PATCH", "/teleconsultation/\(id)", body: #"{"end_date":"\#(iso(3600))"}"#)
                #expect(frozen.status == 409 && frozen.json?["error"] == .string("Teleconsultation \(id) can no longer be changed"))

                let deleted = try await s.call("DELETE", "/teleconsultation/\(id)")
                #expect(deleted.status == 204)
                #expect(try await s.teleconsultations().first?["__STATE__"] == "TRASH")
                #expect(try await s.rooms().isEmpty)
                let gone = try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "dr-who"])
                #expect(gone.status == 404 && gone.json?["error"] == .string("Room with id \(id) not found on CRUD"))
                #expect(try await s.call("DELETE", "/teleconsultation/\(id)").status == 404)
            }
        }

        @Test(arguments: Dialect.allCases)
        func badIdsAndBodiesStopBeforeAnyUpstreamCall(_ d: Dialect) async throws {
            try await withStack("bad", dialect: d) { s in
                for raw in ["..%2F..%2Fx", "%7B%22%24ne%22%3A1%7D", "aaaaaaaaaaaaaaaaaaaaaaaaa", "AAAAAAAAAAAAAAAAAAAAAAAA"] {
                    let r = try await s.call("GET", "/teleconsultation/\(raw)", headers: ["miauserid": "u"])
                    #expect(r.status == 404 && r.json?["statusCode"] == 404, "\(raw): \(r.text)")
                    if !raw.hasPrefix("..") { #expect(r.json?["error"]?.stringValue?.hasPrefix("Room with id ") == true, "\(raw): \(r.text)") }
                    #expect(try await s.call("PATCH", "/teleconsultation/\(raw)", body: "{}").status == 404)
                }
                let bodies: [(String, String)] = [
                    ("{", "body is not valid JSON"),
                    (#"{"participants":{"number":2,"data":[]},"start_date":"2026-02-30T10:00:00.000Z","end_date":"2026-03-01T10:00:00.000Z"}"#, "body/start_date"),
                    (#"{"participants":{"number":2,"number":2,"data":[]},"start_date":"\#(iso(0))","end_date":"\#(iso(60))"}"#, "duplicate key 'number'"),
                    (#"{"participants":{"number":"2","data":[]},"start_date":"\#(iso(0))","end_date":"\#(iso(60))"}"#, "body/participants/number must be integer"),
                    (#"{"participants":{"number":2,"data":[]},"start_date":"\#(iso(0))","end_date":"\#(iso(60))","x":1}"#, "additional property 'x'"),
                ]
                for (body, fragment) in bodies {
                    let r = try await s.call("POST", "/teleconsultation", body: body)
                    #expect(r.status == 400 && r.json?["error"] == "Bad Request" && r.json?["message"]?.stringValue?.contains(fragment) == true, "\(r.text)")
                }
                #expect(try await s.requests().isEmpty)
            }
        }

        @Test(arguments: Dialect.allCases)
        func fixedErrorTextsOfAPIMD(_ d: Dialect) async throws {
            try await withStack("texts", dialect: d) { s in
                let noPlus = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(patientJSON),{"userExternalId":"p2","groups":["patient"],"fullName":"P2"}]},"start_date":"\#(iso(600))","end_date":"\#(iso(1200))"}"#)
                #expect(noPlus.status == 400)
                #expect(noPlus.json == ["statusCode": 400, "error": "Failed POST /teleconsultation: no plus user in room", "message": "Failed POST /teleconsultation: no plus user in room"])
                #expect(try await s.teleconsultations().isEmpty)
                #expect(try await s.rooms().isEmpty)

                let id = try await s.create([patientJSON], start: iso(600), end: iso(1200))
                let lastNoPlus = try await s.call("POST", "/teleconsultation/\(id)/participants/data", body: #"{"userExternalId":"p2","groups":["patient"],"fullName":"P2"}"#)
                #expect(lastNoPlus.status == 400 && lastNoPlus.json?["error"] == .string("Failed POST /teleconsultation/\(id)/participants/data: no plus user in room"))
                let patchNoPlus = try await s.call("PATCH", "/teleconsultation/\(id)",
                                                   body: #"{"participants":{"number":2,"data":[\#(patientJSON),{"userExternalId":"p3","groups":["patient"],"fullName":"P3"}]}}"#)
                #expect(patchNoPlus.status == 400 && patchNoPlus.json?["error"] == "Failed PATCH /teleconsultation: no plus user in room")
                let again = try await s.call("POST", "/teleconsultation/\(id)/participants/data", body: patientJSON)
                #expect(again.status == 409 && again.json?["error"] == .string("Participant pat-1 is already in teleconsultation \(id)"))
                let nurse = try await s.call("POST", "/teleconsultation/\(id)/participants/data", body: #"{"userExternalId":"n","groups":["nurse"],"fullName":"N"}"#)
                #expect(nurse.status == 400 && nurse.json?["message"] == "user n has no group allowed in the teleconsultation")
                let future = try await s.create([doctorJSON, patientJSON], start: iso(3600), end: iso(5400))
                let full = try await s.call("POST", "/teleconsultation/\(future)/participants/data", body: #"{"userExternalId":"x","groups":["patient"],"fullName":"X"}"#)
                #expect(full.status == 409 && full.json?["error"] == .string("Teleconsultation \(future) already has all its participants"))
                let unknown = "0123456789abcdef01234567"
                let missing = try await s.call("PATCH", "/teleconsultation/\(unknown)", body: #"{"end_date":"\#(iso(1300))"}"#)
                #expect(missing.status == 404 && missing.json?["error"] == .string("Room with id \(unknown) not found on CRUD"))
                #expect(try await s.teleconsultations().first { $0["_id"]?.stringValue == id }?["participants"]?.arrayValue?.count == 1)
            }
        }

        @Test(arguments: Dialect.allCases)
        func patchReplacesTheRoomKeepsTheIdAndClearsItWhenIncomplete(_ d: Dialect) async throws {
            try await withStack("patch", env: ["UNLIMITED_TELECONSULTATION": "false"], dialect: d) { s in
                let base = Date()
                let id = try await s.create([doctorJSON, patientJSON], start: iso(3600, from: base), end: iso(5400, from: base))
                let first = try #require(try await s.rooms().first)
                #expect(first["duration"] == 1800)
                let r = try await s.call("PATCH", "/teleconsultation/\(id)", body: #"{"end_date":"\#(iso(7200, from: base))"}"#)
                #expect(r.status == 204)
                let rooms = try await s.rooms()
                #expect(rooms.count == 1 && rooms[0]["room_id"] != first["room_id"] && rooms[0]["duration"] == 3600)
                let doc = try #require(try await s.teleconsultations().first)
                #expect(doc["_id"]?.stringValue == id && doc["bandyerRoomId"] == rooms[0]["room_id"] && doc["version"] == 2)
                // Before the join window, links are not shown.
                #expect(try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "pat-1"]).json?["accessLinkURL"] == .null)

                let shorter = try await s.call("PATCH", "/teleconsultation/\(id)", body: #"{"end_date":"\#(iso(3630, from: base))"}"#)
                #expect(shorter.status == 400 && shorter.json?["message"]?.stringValue?.contains("between 60 and 86400 seconds") == true)

                let incomplete = try await s.call("PATCH", "/teleconsultation/\(id)", body: #"{"participants":{"number":3,"data":[\#(doctorJSON),\#(patientJSON)]}}"#)
                #expect(incomplete.status == 204)
                #expect(try await s.rooms().isEmpty)
                let after = try #require(try await s.teleconsultations().first)
                #expect(after["bandyerRoomId"] == nil && after["teleconsultationState"] == "WAITING_PARTICIPANTS")
                #expect(after["participants"]?.arrayValue?.allSatisfy { $0["accessLinkURL"] == nil } == true)
            }
        }

        @Test(arguments: Dialect.allCases)
        func auth0ModeTakesIdentitiesFromAuth0Client(_ d: Dialect) async throws {
            try await withStack("auth0", auth0: true, env: ["ADDITIONAL_HEADERS_TO_PROXY": "authorization"], dialect: d) { s in
                try await s.seedAuth0(#"[{"user_id":"auth0|d","name":"Doc","groups":["doctor"]},{"user_id":"auth0|p","name":"Pat","app_metadata":{"groups":["patient"]}}]"#)
                let headers = ["client-type": "frontend", "authorization": "Bearer t"]
                let r = try await s.call("POST", "/teleconsultation", body: #"{"participants":["auth0|d","auth0|p"],"start_date":"\#(iso(-60))","end_date":"\#(iso(600))"}"#, headers: headers)
                #expect(r.status == 201, "\(r.text)")
                let id = try #require(r.json?["roomId"]?.stringValue)
                let lookups = try await s.requests(service: "auth0")
                #expect(lookups.count == 1)
                #expect(lookups[0]["headers"]?["client-type"] == "frontend" && lookups[0]["headers"]?["authorization"] == "Bearer t")
                #expect(lookups[0]["query"]?["_q"] == #"{"user_id":{"$in":["auth0|d","auth0|p"]}}"#)
                #expect(try await s.requests(service: "bandyer").allSatisfy { $0["headers"]?["authorization"] == nil })
                let doc = try #require(try await s.teleconsultations().first)
                #expect(doc["participants"]?.arrayValue?.allSatisfy { $0["groups"] == nil && $0["fullName"] == nil } == true)
                let join = try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "auth0|p", "client-type": "frontend"])
                #expect(join.json?["participantsBandyerCall"]?.arrayValue?.map { $0["fullName"] } == ["Doc", "Pat"])
                #expect(join.json?["accessLinkURL"]?.stringValue != nil)

                let unknownUser = try await s.call("POST", "/teleconsultation", body: #"{"participants":["auth0|d","auth0|zz"],"start_date":"\#(iso(0))","end_date":"\#(iso(600))"}"#, headers: headers)
                #expect(unknownUser.status == 400 && unknownUser.json?["message"] == "user auth0|zz not found on auth0-client")
                let withGroups = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[{"userExternalId":"auth0|d","groups":["doctor"]}]},"start_date":"\#(iso(0))","end_date":"\#(iso(600))"}"#, headers: headers)
                #expect(withGroups.status == 400 && withGroups.json?["message"]?.stringValue?.contains("groups is not allowed in auth0 mode") == true)
                let badClient = try await s.call("POST", "/teleconsultation", body: #"{"participants":["auth0|d","auth0|p"],"start_date":"\#(iso(0))","end_date":"\#(iso(600))"}"#, headers: ["client-type": "nope"])
                #expect(badClient.status == 502 && badClient.json?["error"] == "Bad Gateway")
            }
        }

        @Test(arguments: Dialect.allCases)
        func upstreamFailuresAre502Or504AndLeaveNoRoomBehind(_ d: Dialect) async throws {
            try await withStack("faults", env: ["BANDYER_TIMEOUT_MS": "300", "CRUD_TIMEOUT_MS": "300"], dialect: d) { s in
                // The document insert fails after the room was made: the room is deleted.
                try await s.fault(#"{"service":"crud","method":"POST","path":"/teleconsultations/","status":500,"times":1}"#)
                let failed = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctorJSON),\#(patientJSON)]},"start_date":"\#(iso(0))","end_date":"\#(iso(600))"}"#)
                #expect(failed.status == 502 && failed.json?["statusCode"] == 502)
                #expect(try await s.rooms().isEmpty)
                #expect(try await s.teleconsultations().isEmpty)

                // Bandyer hangs past its timeout: 504, quickly.
                try await s.fault("{\(d.fault(d.createRoom)),\"delayMs\":2000,\"times\":1}")
                let began = Date()
                let slow = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctorJSON),\#(patientJSON)]},"start_date":"\#(iso(0))","end_date":"\#(iso(600))"}"#)
                #expect(slow.status == 504 && slow.json?["error"] == "Gateway Timeout")
                #expect(Date().timeIntervalSince(began) < 1.5)
                #expect(try await s.teleconsultations().isEmpty)

                // The CRUD answers HTML: 502, no crash, and the app still serves.
                try await s.fault(#"{"service":"crud","method":"GET","status":200,"body":"<html>oops</html>","times":1}"#)
                let html = try await s.call("GET", "/teleconsultation/0123456789abcdef01234567", headers: ["miauserid": "x"])
                #expect(html.status == 502)
                #expect(try await s.call("GET", "/-/healthz").status == 200)
            }
        }
    }
}

import Foundation
import StrictJSON
import Testing

/// A multipart/form-data body with one file part.
func multipart(_ name: String, _ content: [UInt8], boundary: String = "tcbBoundary42", filename: String = "bg.jpg") -> [UInt8] {
    Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\nContent-Type: image/jpeg\r\n\r\n".utf8)
        + content + Array("\r\n--\(boundary)--\r\n".utf8)
}

let jpegBytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46] + [UInt8](repeating: 7, count: 200)

extension Stack {
    /// A doctor and a patient in a teleconsultation that has begun, in either mode.
    func begun(auth0: Bool, number: Int = 2) async throws -> String {
        if auth0 {
            try await seedAuth0(#"[{"user_id":"dr-who","name":"Dr Who","groups":["doctor"]},{"user_id":"pat-1","name":"Pat One","groups":["patient"]},{"user_id":"visitor","name":"V","groups":["visitor"]}]"#)
            return try await create([#"{"userExternalId":"dr-who"}"#, #"{"userExternalId":"pat-1"}"#], number: number)
        }
        return try await create([doctorJSON, patientJSON], number: number)
    }

    func clearRequests() async throws { _ = try await control("DELETE", "/requests") }
}

extension EndToEnd {
    /// The original's routes and fields from 1.4 to 2.1 (API.md, "Later routes and fields").
    @Suite struct LaterRoutesEndToEndTests {
        static let auth0Env = ["DEFAULT_CLIENT_TYPE": "frontend"]

        @Test func durationInSecondsSetsTheEndAndANewStartKeepsTheLength() async throws {
            try await withStack("duration", env: ["UNLIMITED_TELECONSULTATION": "false"]) { s in
                let start = iso(3600)
                let r = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctorJSON),\#(patientJSON)]},"start_date":"\#(start)","duration_in_seconds":600}"#)
                #expect(r.status == 201, "\(r.text)")
                let id = try #require(r.json?["roomId"]?.stringValue)
                var doc = try #require(try await s.teleconsultations().first)
                let first = try #require(try await s.rooms().first)
                #expect(first["duration"] == 600)
                let startMs = try #require(Date.parse(start)), endMs = try #require(Date.parse(doc["endDate"]?.stringValue ?? ""))
                #expect(endMs.timeIntervalSince(startMs) == 600)
                // Rescheduling is one field: the end moves with the start, the same room stays.
                let later = iso(7200)
                #expect(try await s.call("PATCH", "/teleconsultation/\(id)", body: #"{"start_date":"\#(later)"}"#).status == 204)
                doc = try #require(try await s.teleconsultations().first)
                let moved = try #require(Date.parse(doc["endDate"]?.stringValue ?? ""))
                #expect(moved.timeIntervalSince(try #require(Date.parse(later))) == 600)
                #expect(try await s.rooms().first?["room_id"] == first["room_id"])
                // A new length is a new room.
                #expect(try await s.call("PATCH", "/teleconsultation/\(id)", body: #"{"duration_in_seconds":1200}"#).status == 204)
                #expect(try await s.rooms().map { $0["duration"] } == [1200])
                try await s.clearRequests()
                for (body, message) in [
                    (#"{"end_date":"\#(iso(9000))","duration_in_seconds":600}"#, "body must NOT have both 'end_date' and 'duration_in_seconds'"),
                    (#"{"duration_in_seconds":299}"#, "body/duration_in_seconds must be >= 300"),
                    (#"{"duration_in_seconds":"600"}"#, "body/duration_in_seconds must be integer"),
                ] {
                    let bad = try await s.call("PATCH", "/teleconsultation/\(id)", body: body)
                    #expect(bad.status == 400 && bad.json?["message"] == .string(message), "\(bad.text)")
                }
                let noEnd = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[]},"start_date":"\#(start)"}"#)
                #expect(noEnd.status == 400 && noEnd.json?["message"] == "body must have required property 'end_date' or 'duration_in_seconds'")
                #expect(try await s.requests().isEmpty, "a refused body reached an upstream")
            }
        }

        @Test(arguments: [false, true], Dialect.allCases)
        func getAddsDetailsAndOpensTheLinkAsAsked(_ auth0: Bool, _ d: Dialect) async throws {
            let dir = tempDir("bg")
            try Data(#"{"privileges":{"plus":{"groups":["doctor"]},"basic":{"groups":["patient"]}},"groupsWithBackgroundList":["doctor"]}"#.utf8)
                .write(to: URL(fileURLWithPath: dir + "/config.json"))
            var env = ["TELECONSULTATION_SERVICE_CONFIG_PATH": dir + "/config.json"]
            if auth0 { env.merge(Self.auth0Env) { a, _ in a } }
            try await withStack("details-\(auth0)", auth0: auth0, env: env, dialect: d) { s in
                let id = try await s.begun(auth0: auth0)
                let room = try #require(try await s.rooms().first?["room_id"]?.stringValue)
                try await s.clearRequests()
                let plain = try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "pat-1"])
                #expect(plain.status == 200 && plain.json?["details"] == nil)
                #expect(try await s.requests(service: "bandyer").isEmpty, "no provider call without details=true")
                let asked = try await s.call("GET", "/teleconsultation/\(id)?details=true", headers: ["miauserid": "pat-1"])
                #expect(asked.status == 200)
                let details = try #require(asked.json?["details"]?.objectValue)
                #expect(details.keys == ["recording", "recordingStatus", "callType", "description", "status", "disabled", "creationDate",
                                         "durationInSeconds", "durationUsedInSeconds", "live"])
                #expect(details["status"] == "active" && details["live"] == true && details["recording"] == "none" && details["description"] == .null)
                #expect(try await s.requests(d.roomInfo(room)).count == 1)
                // The caller's link, in Italian; the background for doctors only (groupsWithBackgroundList).
                let link = try #require(plain.json?["accessLinkURL"]?.stringValue)
                let patient = try await s.call("GET", "/teleconsultation/\(id)?language=it&useBackground=true&x=1", headers: ["miauserid": "pat-1"])
                #expect(patient.json?["accessLinkURL"]?.stringValue == link + "?language=it")
                let doctor = try await s.call("GET", "/teleconsultation/\(id)?useBackground=true&language=es", headers: ["miauserid": "dr-who"])
                #expect(doctor.json?["accessLinkURL"]?.stringValue?.hasSuffix("?language=es&virtual_background=image") == true)
                // A language nobody speaks here: 400 before any upstream call.
                try await s.clearRequests()
                let bad = try await s.call("GET", "/teleconsultation/\(id)?language=xx", headers: ["miauserid": "pat-1"])
                #expect(bad.status == 400 && bad.json?["message"]?.stringValue?.hasPrefix("querystring/language must be equal to one of") == true)
                #expect(try await s.requests().isEmpty)
                // The provider failing is the caller's 502; before the room exists there is nothing to ask.
                try await s.fault("{\(d.fault(d.roomInfo(room))),\"status\":500,\"times\":1}")
                #expect(try await s.call("GET", "/teleconsultation/\(id)?details=true", headers: ["miauserid": "pat-1"]).status == 502)
                let waiting = try await s.create(auth0 ? [#"{"userExternalId":"dr-who"}"#] : [doctorJSON], number: 3)
                try await s.clearRequests()
                let none = try await s.call("GET", "/teleconsultation/\(waiting)?details=true", headers: ["miauserid": "dr-who"])
                #expect(none.status == 200 && none.json?["details"] == .null && none.json?["accessLinkURL"] == .null)
                #expect(try await s.requests(service: "bandyer").isEmpty)
            }
        }

        @Test(arguments: [false, true], Dialect.allCases)
        func credentialsGiveTheCallerAnSDKToken(_ auth0: Bool, _ d: Dialect) async throws {
            try await withStack("credentials-\(auth0)", auth0: auth0, env: auth0 ? Self.auth0Env : [:], dialect: d) { s in
                if auth0 {
                    try await s.seedAuth0(#"[{"user_id":"dr-who","groups":["doctor"]},{"user_id":"visitor","groups":["visitor"]}]"#)
                } else {
                    _ = try await s.create([doctorJSON], number: 3)
                }
                try await s.clearRequests()
                for (headers, body) in [([String: String](), ""), (["miauserid": "nobody"], ""), (["miauserid": "visitor"], "")] {
                    let r = try await s.call("POST", "/credentials", body: body, headers: headers)
                    #expect(r.status == 401 && r.json?["error"] == "Unauthorized user", "\(headers): \(r.text)")
                }
                #expect(try await s.requests(service: "bandyer").isEmpty, "no token and no user for a stranger")
                let bad = try await s.call("POST", "/credentials", body: #"{"expiresIn":100}"#, headers: ["miauserid": "dr-who"])
                #expect(bad.status == 400 && bad.json?["message"] == "body/expiresIn must be >= 360")
                let r = try await s.call("POST", "/credentials", body: #"{"expiresIn":600}"#, headers: ["miauserid": "dr-who"])
                #expect(r.status == 201, "\(r.text)")
                let token = try #require(r.json?["accessToken"]?.stringValue)
                let bandyerId = try #require(r.json?["bandyerUserId"]?.stringValue)
                #expect(r.json?.objectValue?.keys == ["accessToken", "expiresAt", "bandyerUserId"])
                let expires = try #require(r.json?["expiresAt"]?.stringValue)
                #expect(expires.count == 24 && expires.hasSuffix("Z"), "ISO with milliseconds: \(expires)")
                let sdk = try #require(try await s.requests(d.sdkCredentials).first)
                #expect(sdk["body"] == ["user_id": .string(bandyerId), "expires_in": 600])
                // auth0 mode made the caller's Bandyer user; standalone used the one it had.
                #expect(try await s.requests(d.createUser).count == (auth0 ? 1 : 0))
                #expect(!(s.app?.stderr.contains(token) ?? true), "the token is in the logs")
                let again = try await s.call("POST", "/credentials", headers: ["miauserid": "dr-who"])
                #expect(again.status == 201 && again.json?["bandyerUserId"]?.stringValue == bandyerId)
            }
        }

        @Test func uploadsAreLeftAloneWhileTheFeatureIsOff() async throws {
            try await withStack("uploads-off") { s in
                for path in ["/teleconsultation/0123456789abcdef01234567/uploads", "/teleconsultation/not-an-id/uploads"] {
                    let r = try await s.call("DELETE", path, headers: ["miauserid": "dr-who"])
                    #expect(r.status == 204 && r.body.isEmpty)
                }
                #expect(try await s.requests().isEmpty)
            }
        }

        @Test(arguments: [false, true], Dialect.allCases)
        func uploadsAreListedAndDeletedAndFailuresCounted(_ auth0: Bool, _ d: Dialect) async throws {
            var env = ["TELECONSULTATION_DELETE_UPLOADS": "true"]
            if auth0 { env.merge(Self.auth0Env) { a, _ in a } }
            try await withStack("uploads-\(auth0)", auth0: auth0, env: env, dialect: d) { s in
                let id = try await s.begun(auth0: auth0)
                let room = try #require(try await s.rooms().first?["room_id"]?.stringValue)
                let keys = (0..<9).map { "room files/\($0).pdf" }
                try await s.control("POST", "/bandyer/uploads", #"{"room_id":"\#(room)","keys":\#(JSONValue.array(keys.map(JSONValue.string)).jsonString)}"#)
                try await s.fault("{\(d.fault(d.deleteUpload("room%20files%2F3.pdf"))),\"status\":500,\"times\":1}")
                try await s.clearRequests()
                #expect(try await s.call("DELETE", "/teleconsultation/xyz/uploads", headers: ["miauserid": "pat-1"]).status == 404)
                #expect(try await s.call("DELETE", "/teleconsultation/\(id)/uploads", headers: ["miauserid": "eve"]).status == 401)
                #expect(try await s.requests(service: "bandyer").isEmpty)
                let r = try await s.call("DELETE", "/teleconsultation/\(id)/uploads", headers: ["miauserid": "pat-1"])
                #expect(r.status == 200 && r.json == ["total": 9, "deleted": 8], "\(r.text)")
                // v1 answers every upload at once; v2 in pages (the stand-in's at most 5): every page is read.
                let listings = try await s.requests(d.listUploads(room))
                #expect(listings.count == (d == .v1 ? 1 : 2))
                if d == .v2 { #expect(listings.map { $0["query"]?["offset"] } == ["0", "5"] && listings.allSatisfy { $0["query"]?["room_id"] == .string(room) }) }
                let deletes = try await s.requests(d.deleteUpload())
                #expect(deletes.count == 9)
                let line = try #require(s.app?.stderr.split(separator: "\n").first { $0.contains("upload deletion failed") })
                #expect(line.contains(#""level":40"#) && line.contains("room files/3.pdf") && line.contains("status(500)"))
                #expect(try await s.state()["bandyer"]?["uploads"]?.arrayValue?.count == 1)
                // Trashing the teleconsultation takes its remaining uploads first, then the room.
                try await s.clearRequests()
                #expect(try await s.call("DELETE", "/teleconsultation/\(id)").status == 204)
                let order = try await s.requests(service: "bandyer").map { "\($0["method"]?.stringValue ?? "") \($0["path"]?.stringValue ?? "")" }
                let list = d.listUploads(room), delete = d.deleteRoom(room)
                #expect(order.first == "\(list.method) \(list.path)" && order.last == "\(delete.method) \(delete.path)" && order.count == 3, "\(order)")
                #expect(try await s.state()["bandyer"]?["uploads"]?.arrayValue?.isEmpty == true)
                // No room yet: nothing to list.
                let waiting = try await s.create(auth0 ? [#"{"userExternalId":"dr-who"}"#] : [doctorJSON], number: 3)
                try await s.clearRequests()
                #expect(try await s.call("DELETE", "/teleconsultation/\(waiting)/uploads", headers: ["miauserid": "dr-who"]).json == ["total": 0, "deleted": 0])
                #expect(try await s.requests(service: "bandyer").isEmpty)
                // A listing that fails is the caller's 502.
                let other = try await s.begun(auth0: auth0)
                try await s.fault("{\(d.fault(d.listUploads(try await s.rooms().last?["room_id"]?.stringValue ?? ""))),\"status\":503,\"times\":1}")
                #expect(try await s.call("DELETE", "/teleconsultation/\(other)/uploads", headers: ["miauserid": "dr-who"]).status == 502)
            }
        }

        @Test(arguments: [false, true], Dialect.allCases)
        func settingsAreForPlusCallersAndUploadsAreJPEGsUpToTheirOwnLimit(_ auth0: Bool, _ d: Dialect) async throws {
            // The debug stand-in takes seconds to parse megabytes of multipart on a busy machine:
            // this test is about sizes, not about the upstream timeout.
            var env = ["MAX_UPLOAD_BYTES": String(3 << 20), "UPSTREAM_TIMEOUT_MS": "15000"]
            if auth0 { env.merge(Self.auth0Env) { a, _ in a } }
            try await withStack("settings-\(auth0)", auth0: auth0, env: env, dialect: d) { s in
                _ = try await s.begun(auth0: auth0, number: 3)
                let form = ["content-type": "multipart/form-data; boundary=tcbBoundary42"]
                // Larger than the general 1 MiB, within MAX_UPLOAD_BYTES: only this route takes it.
                let big = jpegBytes + [UInt8](repeating: 0x11, count: 2 << 20)
                let uploaded = try await http("POST", s.base + "/settings/background-image", headers: form.merging(["miauserid": "dr-who"]) { a, _ in a },
                                              bytes: multipart("virtual_background", big))
                #expect(uploaded.status == 200, "\(uploaded.text)")
                let alias = try #require(uploaded.json?["virtual_background"]?["background_alias"]?.stringValue)
                #expect(uploaded.json?["virtual_background"]?.objectValue?.keys == ["background_alias", "url", "creation_date"])
                let sent = try #require(try await s.requests(d.virtualBackground).first)
                #expect(sent["headers"]?["content-type"]?.stringValue?.hasPrefix("multipart/form-data; boundary=") == true)
                #expect(sent["headers"]?["apikey"] == .string(Stack.key))
                let tooBig = try await http("POST", s.base + "/credentials", headers: ["content-type": "application/json", "miauserid": "dr-who"],
                                            bytes: Array(repeating: UInt8(ascii: " "), count: 2 << 20))
                #expect(tooBig.status == 413 && tooBig.json?["statusCode"] == 413)
                let past = try await http("POST", s.base + "/settings/background-image", headers: form.merging(["miauserid": "dr-who"]) { a, _ in a },
                                          bytes: multipart("virtual_background", jpegBytes + [UInt8](repeating: 1, count: 3 << 20)))
                #expect(past.status == 413 && past.json?["message"] == .string("body must be at most \(3 << 20) bytes"))
                try await s.clearRequests()
                for (headers, body, status) in [
                    (["miauserid": "pat-1"], multipart("virtual_background", jpegBytes), 401),
                    (["miauserid": "dr-who"], multipart("virtual_background", [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]), 400),
                    (["miauserid": "dr-who"], multipart("image", jpegBytes), 400),
                    (["miauserid": "dr-who", "content-type": "application/json"], Array(#"{"virtual_background":"x"}"#.utf8), 400),
                ] as [([String: String], [UInt8], Int)] {
                    let r = try await http("POST", s.base + "/settings/background-image", headers: form.merging(headers) { _, b in b }, bytes: body)
                    #expect(r.status == status, "\(headers): \(r.text)")
                    if status == 400 { #expect(r.json?["message"]?.stringValue?.hasPrefix("body/virtual_background") == true, "\(r.text)") }
                }
                #expect(try await s.requests(service: "bandyer").isEmpty)
                // The stored background becomes the company's default.
                let updated = try await s.call("PATCH", "/settings/update", body: #"{"background_alias":"\#(alias)"}"#, headers: ["miauserid": "dr-who"])
                #expect(try await s.requests(d.companyUpdate).count == 1)
                #expect(updated.status == 200 && updated.json?["company"]?["default_background"]?["alias"]?.stringValue == alias, "\(updated.text)")
                #expect(updated.json?["company"]?.objectValue?.keys == ["name", "default_language", "default_background", "end_call_redirect_url",
                                                                        "user_details_provider_url", "end_call_redirect_timeout_ms"])
                let unknown = try await s.call("PATCH", "/settings/update", body: #"{"background_alias":"nope"}"#, headers: ["miauserid": "dr-who"])
                #expect(unknown.status == 400 && unknown.json?["message"]?.stringValue?.hasPrefix("body/background_alias") == true)
                let patient = try await s.call("PATCH", "/settings/update", body: #"{"background_alias":"\#(alias)"}"#, headers: ["miauserid": "pat-1"])
                #expect(patient.status == 401)
                let strict = try await s.call("PATCH", "/settings/update", body: #"{"background_alias":"a","x":1}"#, headers: ["miauserid": "dr-who"])
                #expect(strict.status == 400 && strict.json?["message"] == "body must NOT have additional property 'x'")
            }
        }

        @Test func customUserIdsAreTranslatedOnceBeforeAuth0Client() async throws {
            let dir = tempDir("custom")
            try Data(#"{"privileges":{"plus":{"groups":["doctor"]},"basic":{"groups":["patient"]}},"customUserId":{"source":"customId","target":"auth0Id"}}"#.utf8)
                .write(to: URL(fileURLWithPath: dir + "/config.json"))
            try await withStack("custom-ids", auth0: true, env: ["DEFAULT_CLIENT_TYPE": "frontend", "TELECONSULTATION_SERVICE_CONFIG_PATH": dir + "/config.json",
                                                                   "CLIENTTYPE_HEADER_KEY": "x-client-kind",
                                                                   // The custom-id endpoint: a CRUD-like collection on the stand-in.
                                                                   "CUSTOM_ID_USERS_API_ENDPOINT": "{emulator}/crud/users/"]) { s in
                try await s.control("POST", "/crud/users", #"[{"customId":"C-DOC","auth0Id":"auth0|d"},{"customId":"C-PAT","auth0Id":"auth0|p"}]"#)
                try await s.seedAuth0(#"[{"user_id":"auth0|d","name":"Doc","groups":["doctor"]},{"user_id":"auth0|p","name":"Pat","groups":["patient"]}]"#)
                let r = try await s.call("POST", "/teleconsultation", body: #"{"participants":["C-DOC","C-PAT"],"start_date":"\#(iso(-60))","end_date":"\#(iso(900))"}"#,
                                         headers: ["x-client-kind": "backoffice"])
                #expect(r.status == 201, "\(r.text)")
                let id = try #require(r.json?["roomId"]?.stringValue)
                let log = try await s.requests().filter { $0["service"] == "auth0" || $0["path"]?.stringValue?.hasPrefix("/users/") == true }
                #expect(log.map { $0["service"]?.stringValue ?? "" } == ["crud", "auth0"], "one translation, then auth0-client: \(log)")
                #expect(try JSONParser.parse(log.first?["query"]?["_q"]?.stringValue ?? "") == ["customId": ["$in": ["C-DOC", "C-PAT"]]])
                #expect(try JSONParser.parse(log.last?["query"]?["_q"]?.stringValue ?? "") == ["user_id": ["$in": ["auth0|d", "auth0|p"]]])
                // The incoming client type, under the configured header name.
                #expect(log.last?["headers"]?["x-client-kind"] == "backoffice" && log.last?["headers"]?["client-type"] == nil)
                #expect(try await s.teleconsultations().first?["participants"]?.arrayValue?.map { $0["userExternalId"] } == ["C-DOC", "C-PAT"])
                let join = try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "C-PAT"])
                #expect(join.status == 200 && join.json?["participantsBandyerCall"]?.arrayValue?.map { $0["fullName"] } == ["Doc", "Pat"])
                let unknown = try await s.call("POST", "/teleconsultation", body: #"{"participants":["C-DOC","C-ZZ"],"start_date":"\#(iso(60))","end_date":"\#(iso(900))"}"#)
                #expect(unknown.status == 400 && unknown.json?["message"] == "user C-ZZ not found")
                #expect(try await s.call("POST", "/credentials", headers: ["miauserid": "C-ZZ"]).status == 401)
                #expect(try await s.call("POST", "/credentials", headers: ["miauserid": "C-DOC"]).status == 201)
            }
        }

        @Test func aPersonalLinkOpensAPageSayingWhoseItIs() async throws {
            try await withStack("join-page") { s in
                let id = try await s.create([doctorJSON, patientJSON])
                let link = try #require(try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "pat-1"]).json?["accessLinkURL"]?.stringValue)
                let page = try await http("GET", link)
                let bandyerId = try #require(try await s.teleconsultations().first?["participants"]?.arrayValue?[1]["userBandyerId"]?.stringValue)
                #expect(page.status == 200 && page.headers["content-type"]?.hasPrefix("text/html") == true)
                let room = try await s.rooms().first?["room_id"]?.stringValue ?? "-"
                #expect(page.text.contains(bandyerId) && page.text.contains("basic") && page.text.contains(room))
            }
        }
    }
}

extension Date {
    static func parse(_ iso: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: iso)
    }
}

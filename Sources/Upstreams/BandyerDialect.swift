import StrictJSON
import TeleconsultationDomain

/// One call as a dialect spells it: method, path under the base URL, body.
struct WireCall: Sendable, Equatable {
    var method: String
    var path: String
    var body: JSONValue?

    init(_ method: String, _ path: String, body: JSONValue? = nil) {
        self.method = method
        self.path = path
        self.body = body
    }
}

/// A page of a listing, and where the next one starts (nil: the last page).
struct WirePage<Item: Sendable>: Sendable {
    var items: [Item]
    var nextOffset: Int?
}

/// How one dialect of the provider's REST API spells each call and shapes each answer.
/// Everything the dialects do not share is here; the plumbing, the id checks, the error
/// mapping and the answers' field names (the same in both) are `BandyerVideoProvider`'s.
protocol BandyerDialect: Sendable {
    var name: String { get }
    func createUser(role: Role) -> WireCall
    /// The new user's id, wherever this dialect may put it.
    func userId(in answer: JSONValue) -> String?
    func createRoom(_ plan: RoomPlan) -> WireCall
    /// The new room's id and its links (Bandyer user id → URL), as found.
    func room(in answer: JSONValue) -> (id: String?, links: [(user: String, url: String)])
    func deleteRoom(id: String) -> WireCall
    func roomInformation(id: String) -> WireCall
    func sdkCredentials(userId: String, expiresIn: Int) -> WireCall
    /// One page of a room's uploads (v1 answers them all at once).
    func uploads(roomId: String, offset: Int) -> WireCall
    func uploadsPage(in answer: JSONValue, offset: Int) -> WirePage<JSONValue>?
    func deleteUpload(key: String) -> WireCall
    var virtualBackgroundPath: String { get }
    func updateCompany(backgroundAlias: String) -> WireCall
    /// One page of every room the company has; nil where the dialect cannot list rooms.
    func rooms(offset: Int, limit: Int) -> WireCall?
    func roomsPage(in answer: JSONValue, offset: Int) -> WirePage<JSONValue>?
}

extension BandyerDialect {
    /// The object of a room answer: under `room`, or the answer itself.
    func roomObject(in answer: JSONValue) -> JSONObject? {
        (answer["room"] ?? answer).objectValue
    }

    /// Path segment for a provider key: every byte but the unreserved ones percent-encoded.
    func segment(_ key: String) -> String { queryEncode(key) }

    /// v2's `tools` and v1's are the same object; only where it goes differs.
    func participants(_ plan: RoomPlan) -> JSONValue {
        .array(plan.members.map { m in
            var o = JSONObject()
            o["user_id"] = .string(m.bandyerUserId)
            o["is_admin"] = .bool(m.isAdmin)
            if let tools = m.tools { o["tools"] = tools.json }
            return .object(o)
        })
    }
}

/// Bandyer REST v1 (`…/rest`): action-style paths. The room-information, uploads and
/// company paths are inferred from the original's client code, not from a published reference.
struct BandyerV1: BandyerDialect {
    var name: String { "v1" }

    func createUser(role: Role) -> WireCall {
        WireCall("POST", "/user/create", body: ["role": .string(role.rawValue)])
    }

    func userId(in v: JSONValue) -> String? {
        [v["user_id"], v["id"], v["user"]?["id"], v["user"]?["user_id"]].lazy.compactMap { $0?.stringValue }.first
    }

    func createRoom(_ plan: RoomPlan) -> WireCall {
        var body = JSONObject()
        body["participants"] = participants(plan)
        if let d = plan.durationSeconds { body["duration"] = .number(Double(d)) }
        body["live"] = .bool(plan.live)
        // v1 spells recording as a flag and a type.
        if plan.recording != .none {
            body["recording"] = .bool(true)
            body["recording_type"] = .string(plan.recording.rawValue)
        }
        return WireCall("POST", "/room/create", body: .object(body))
    }

    func room(in v: JSONValue) -> (id: String?, links: [(user: String, url: String)]) {
        let room = v["room"] ?? v
        let id = (room["room_id"] ?? v["room_id"])?.stringValue
        let links: [(user: String, url: String)] = ((room["user_urls"] ?? v["user_urls"])?.arrayValue ?? []).compactMap { u in
            guard let user = u["user"]?.stringValue, let url = u["url"]?.stringValue else { return nil }
            return (user, url)
        }
        return (id, links)
    }

    func deleteRoom(id: String) -> WireCall { WireCall("DELETE", "/room/delete/\(id)") }
    func roomInformation(id: String) -> WireCall { WireCall("GET", "/room/info/\(id)") }

    func sdkCredentials(userId: String, expiresIn: Int) -> WireCall {
        WireCall("POST", "/sdk/credentials", body: ["user_id": .string(userId), "expires_in": .number(Double(expiresIn))])
    }

    func uploads(roomId: String, offset: Int) -> WireCall { WireCall("GET", "/room/\(roomId)/upload/list") }

    func uploadsPage(in answer: JSONValue, offset: Int) -> WirePage<JSONValue>? {
        guard let list = (answer["uploads"] ?? answer).arrayValue else { return nil }
        return WirePage(items: list, nextOffset: nil)
    }

    func deleteUpload(key: String) -> WireCall { WireCall("DELETE", "/upload/\(segment(key))") }
    var virtualBackgroundPath: String { "/company/virtual-background" }

    func updateCompany(backgroundAlias: String) -> WireCall {
        WireCall("POST", "/company/update", body: ["background_alias": .string(backgroundAlias)])
    }

    func rooms(offset: Int, limit: Int) -> WireCall? { nil }
    func roomsPage(in answer: JSONValue, offset: Int) -> WirePage<JSONValue>? { nil }
}

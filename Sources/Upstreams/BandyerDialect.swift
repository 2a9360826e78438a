import StrictJSON
import TeleconsultationDomain

/// One call as a dialect spells it: method, path under the base URL, body.
struct WireCall: Sendable {
    var method: String
    var path: String
    var body: JSONValue?
}

/// How one dialect of the provider's REST API spells each call and shapes each answer.
/// Everything the dialects do not share is here; the plumbing, the id checks and the
/// error mapping are `BandyerVideoProvider`'s, the same for both.
protocol BandyerDialect: Sendable {
    func createUser(role: Role) -> WireCall
    /// The new user's id, wherever this dialect may put it.
    func userId(in answer: JSONValue) -> String?
    func createRoom(_ plan: RoomPlan) -> WireCall
    /// The new room's id and its links (Bandyer user id → URL), as found.
    func room(in answer: JSONValue) -> (id: String?, links: [(user: String, url: String)])
    func deleteRoom(id: String) -> WireCall
}

/// Bandyer REST v1 (`/rest`): action-style paths.
struct BandyerV1: BandyerDialect {
    func createUser(role: Role) -> WireCall {
        WireCall(method: "POST", path: "/user/create", body: ["role": .string(role.rawValue)])
    }

    func userId(in v: JSONValue) -> String? {
        [v["user_id"], v["id"], v["user"]?["id"], v["user"]?["user_id"]].lazy.compactMap { $0?.stringValue }.first
    }

    func createRoom(_ plan: RoomPlan) -> WireCall {
        var body = JSONObject()
        body["participants"] = .array(plan.members.map { m in
            var o = JSONObject()
            o["user_id"] = .string(m.bandyerUserId)
            o["is_admin"] = .bool(m.isAdmin)
            if let tools = m.tools { o["tools"] = tools.json }
            return .object(o)
        })
        if let d = plan.durationSeconds { body["duration"] = .number(Double(d)) }
        body["live"] = .bool(plan.live)
        if plan.recording != .none {
            body["recording"] = .bool(true)
            body["recording_type"] = .string(plan.recording.rawValue)
        }
        return WireCall(method: "POST", path: "/room/create", body: .object(body))
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

    func deleteRoom(id: String) -> WireCall {
        WireCall(method: "DELETE", path: "/room/delete/\(id)")
    }
}

import StrictJSON
import TeleconsultationDomain

/// Kaleyra Video REST v2 (`…/v2`): resource-style paths. Room creation's and the company
/// update's answers are not fully published: several shapes are read, and the provider
/// insists on what it needs (a room id and one link per participant).
struct BandyerV2: BandyerDialect {
    var name: String { "v2" }
    /// Page size asked for listings (the provider may answer fewer).
    static let pageSize = 100

    func createUser(role: Role) -> WireCall {
        WireCall("POST", "/users", body: ["role": .string(role.rawValue)])
    }

    func userId(in v: JSONValue) -> String? {
        [v["id"], v["user_id"], v["user"]?["id"], v["user"]?["user_id"]].lazy.compactMap { $0?.stringValue }.first
    }

    func createRoom(_ plan: RoomPlan) -> WireCall {
        var body = JSONObject()
        body["participants"] = participants(plan)
        if let d = plan.durationSeconds { body["duration"] = .number(Double(d)) }
        body["live"] = .bool(plan.live)
        // v2 names the recording mode itself.
        body["recording"] = .string(plan.recording.rawValue)
        return WireCall("POST", "/rooms", body: .object(body))
    }

    func room(in v: JSONValue) -> (id: String?, links: [(user: String, url: String)]) {
        let room = v["room"] ?? v
        // `room_id` (in the room object, then at the top) names the room before any `id`.
        let id = [room["room_id"], v["room_id"], room["id"], v["id"]].lazy.compactMap { $0?.stringValue }.first
        var links: [(user: String, url: String)] = []
        for p in (room["participants"] ?? v["participants"])?.arrayValue ?? [] {
            if let user = (p["user_id"] ?? p["id"])?.stringValue, let url = (p["url"] ?? p["link"])?.stringValue { links.append((user, url)) }
        }
        for u in (room["user_urls"] ?? v["user_urls"])?.arrayValue ?? [] {
            if let user = (u["user"] ?? u["user_id"])?.stringValue, let url = (u["url"] ?? u["link"])?.stringValue { links.append((user, url)) }
        }
        return (id, links)
    }

    func deleteRoom(id: String) -> WireCall { WireCall("DELETE", "/rooms/\(id)") }
    func roomInformation(id: String) -> WireCall { WireCall("GET", "/rooms/\(id)") }

    func sdkCredentials(userId: String, expiresIn: Int) -> WireCall {
        WireCall("POST", "/sdk/credentials", body: ["user_id": .string(userId), "expires_in": .number(Double(expiresIn))])
    }

    func uploads(roomId: String, offset: Int) -> WireCall {
        WireCall("GET", "/uploads?room_id=\(queryEncode(roomId))&offset=\(offset)&limit=\(Self.pageSize)")
    }

    func uploadsPage(in answer: JSONValue, offset: Int) -> WirePage<JSONValue>? {
        page(answer["uploads"], in: answer, offset: offset)
    }

    func deleteUpload(key: String) -> WireCall { WireCall("DELETE", "/uploads/\(segment(key))") }
    var virtualBackgroundPath: String { "/company/virtual-background" }

    func updateCompany(backgroundAlias: String) -> WireCall {
        WireCall("PUT", "/company", body: ["background_alias": .string(backgroundAlias)])
    }

    func rooms(offset: Int, limit: Int) -> WireCall? { WireCall("GET", "/rooms?offset=\(offset)&limit=\(limit)") }

    func roomsPage(in answer: JSONValue, offset: Int) -> WirePage<JSONValue>? {
        page(answer["rooms"], in: answer, offset: offset)
    }

    /// A page of a listing: `has_more` says whether another follows, at `offset + items`.
    func page(_ list: JSONValue?, in answer: JSONValue, offset: Int) -> WirePage<JSONValue>? {
        guard let items = (list ?? answer).arrayValue else { return nil }
        let more = answer["has_more"]?.boolValue ?? false
        return WirePage(items: items, nextOffset: more ? offset + items.count : nil)
    }
}

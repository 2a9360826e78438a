import Hummingbird
import StrictJSON

/// Bandyer REST's contract: the api key, 2–25 participants who exist, at least one plus,
/// duration ≥ 60, known tools; personal links per user.
enum BandyerStandIn {
    static func register(on router: Router<BasicRequestContext>, state: EmulatorState) {
        @Sendable func authorized(_ r: Incoming, _ body: (Incoming) async -> Reply) async -> Response {
            guard await state.validKey(r.header("apikey")) else { return Reply.error(401, "invalid apikey").response }
            return await body(r).response
        }
        @Sendable func base(_ r: Incoming) -> String { "http://\(r.authority ?? "127.0.0.1")/bandyer" }

        // v1: action-style paths under /bandyer/rest (and /bandyer, as before).
        for prefix in ["/bandyer", "/bandyer/rest"] {
            router.post("\(prefix)/user/create") { request, _ in
                await authorized(try await Incoming.read(request)) { r in await state.bandyerCreateUser(r.json) }
            }
            router.post("\(prefix)/room/create") { request, _ in
                await authorized(try await Incoming.read(request)) { r in await state.bandyerCreateRoom(r.json, baseURL: base(r)) }
            }
            router.delete("\(prefix)/room/delete/:room") { request, c in
                await authorized(try await Incoming.read(request)) { _ in await state.bandyerDeleteRoom(c.parameters.get("room") ?? "") }
            }
        }
    }
}

extension EmulatorState {
    static let toolKeys = ["chat", "screen_sharing", "file_upload", "whiteboard", "snapshot", "live_edit", "live_pointer", "present_to_everyone"]

    func validKey(_ key: String?) -> Bool { key == settings.bandyerKey }

    func bandyerCreateUser(_ body: JSONValue?) -> Reply {
        guard let o = body?.objectValue, o.keys == ["role"], let role = o["role"]?.stringValue, ["basic", "plus"].contains(role) else {
            return .error(400, "body must be {\"role\": basic|plus}")
        }
        let id = nextToken("usr")
        bandyerUsers.append((id, role))
        return .json(200, ["user_id": .string(id)])
    }

    /// The provider's rules for a room; the stored room as both dialects read it.
    func bandyerNewRoom(_ body: JSONValue?, baseURL: String, recordingKeys: [String]) -> Result<JSONObject, Reply> {
        guard let o = body?.objectValue else { return .failure(.error(400, "body must be object")) }
        for k in o.keys where !(["participants", "duration", "live"] + recordingKeys).contains(k) { return .failure(.error(400, "unknown property \(k)")) }
        guard let list = o["participants"]?.arrayValue, (2...25).contains(list.count) else {
            return .failure(.error(400, "participants must have 2 to 25 items"))
        }
        if let d = o["duration"], (d.intValue ?? 0) < 60 { return .failure(.error(400, "duration must be an integer >= 60")) }
        if let l = o["live"], l.boolValue == nil { return .failure(.error(400, "live must be boolean")) }
        var seen = Set<String>()
        var hasPlus = false
        var urls: [JSONValue] = []
        let roomId = nextToken("room")
        for p in list {
            guard let po = p.objectValue, let uid = po["user_id"]?.stringValue, let admin = po["is_admin"]?.boolValue else {
                return .failure(.error(400, "each participant needs user_id and is_admin"))
            }
            for k in po.keys where !["user_id", "is_admin", "tools"].contains(k) { return .failure(.error(400, "unknown participant property \(k)")) }
            guard let user = bandyerUsers.first(where: { $0.id == uid }) else { return .failure(.error(400, "unknown user \(uid)")) }
            guard seen.insert(uid).inserted else { return .failure(.error(400, "duplicate user \(uid)")) }
            if let t = po["tools"] {
                guard let to = t.objectValue, to.members.allSatisfy({ Self.toolKeys.contains($0.key) && $0.value.boolValue != nil }) else {
                    return .failure(.error(400, "invalid tools"))
                }
            }
            if user.role == "plus" { hasPlus = true }
            var u = JSONObject([("user", .string(uid)), ("url", .string("\(baseURL)/join/\(roomId)/\(uid)")), ("is_admin", .bool(admin))])
            if let t = po["tools"] { u["tools"] = t }
            urls.append(.object(u))
        }
        guard hasPlus else { return .failure(.error(400, "at least one plus user is required")) }
        var room = JSONObject([("room_id", .string(roomId)), ("participants", .array(list)), ("user_urls", .array(urls))])
        if let d = o["duration"] { room["duration"] = d }
        room["live"] = o["live"] ?? .bool(false)
        room["creation_date"] = .string(now)
        return .success(room)
    }

    func bandyerCreateRoom(_ body: JSONValue?, baseURL: String) -> Reply {
        // v1 spells recording as {"recording": true, "recording_type": "automatic|manual"}.
        if let r = body?["recording"], r.boolValue == nil { return .error(400, "recording must be boolean") }
        if let t = body?["recording_type"], !["automatic", "manual"].contains(t.stringValue ?? "") {
            return .error(400, "recording_type must be automatic or manual")
        }
        switch bandyerNewRoom(body, baseURL: baseURL, recordingKeys: ["recording", "recording_type"]) {
        case .failure(let reply): return reply
        case .success(var room):
            room["recording"] = .string(body?["recording"] == true ? body?["recording_type"]?.stringValue ?? "automatic" : "none")
            rooms.append(room)
            return .json(200, ["room": .object(JSONObject([("room_id", room["room_id"] ?? .null), ("user_urls", room["user_urls"] ?? [])]))])
        }
    }

    func bandyerDeleteRoom(_ id: String) -> Reply {
        guard let i = rooms.firstIndex(where: { $0["room_id"]?.stringValue == id }) else { return .error(404, "room not found") }
        rooms.remove(at: i)
        return .json(200, ["room_id": .string(id)])
    }
}

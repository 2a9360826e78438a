import StrictJSON

/// Bandyer REST v1's contract: the api key, 2–25 participants who exist, at least one
/// plus, duration ≥ 60, known tools; personal links per user.
extension EmulatorState {
    static let toolKeys = ["chat", "screen_sharing", "file_upload", "whiteboard", "snapshot", "live_edit", "live_pointer", "present_to_everyone"]

    func bandyer(method: String, path: [Substring], body: JSONValue?, apiKey: String?, baseURL: String) -> Reply {
        guard apiKey == settings.bandyerKey else { return .error(401, "invalid apikey") }
        switch (method, path.map(String.init)) {
        case ("POST", ["user", "create"]):
            guard let o = body?.objectValue, o.keys == ["role"], let role = o["role"]?.stringValue, ["basic", "plus"].contains(role) else {
                return .error(400, "body must be {\"role\": basic|plus}")
            }
            let id = nextToken("usr")
            bandyerUsers.append((id, role))
            return .json(200, ["user_id": .string(id)])
        case ("POST", ["room", "create"]):
            guard let o = body?.objectValue else { return .error(400, "body must be object") }
            for k in o.keys where !["participants", "duration", "live"].contains(k) { return .error(400, "unknown property \(k)") }
            guard let list = o["participants"]?.arrayValue, (2...25).contains(list.count) else {
                return .error(400, "participants must have 2 to 25 items")
            }
            if let d = o["duration"], (d.intValue ?? 0) < 60 { return .error(400, "duration must be an integer >= 60") }
            if let l = o["live"], l.boolValue == nil { return .error(400, "live must be boolean") }
            var seen = Set<String>()
            var hasPlus = false
            var urls: [JSONValue] = []
            let roomId = nextToken("room")
            for p in list {
                guard let po = p.objectValue, let uid = po["user_id"]?.stringValue, let admin = po["is_admin"]?.boolValue else {
                    return .error(400, "each participant needs user_id and is_admin")
                }
                for k in po.keys where !["user_id", "is_admin", "tools"].contains(k) { return .error(400, "unknown participant property \(k)") }
                guard let user = bandyerUsers.first(where: { $0.id == uid }) else { return .error(400, "unknown user \(uid)") }
                guard seen.insert(uid).inserted else { return .error(400, "duplicate user \(uid)") }
                if let t = po["tools"] {
                    guard let to = t.objectValue, to.members.allSatisfy({ Self.toolKeys.contains($0.key) && $0.value.boolValue != nil }) else {
                        return .error(400, "invalid tools")
                    }
                }
                if user.role == "plus" { hasPlus = true }
                var u = JSONObject([("user", .string(uid)), ("url", .string("\(baseURL)/join/\(roomId)/\(uid)")), ("is_admin", .bool(admin))])
                if let t = po["tools"] { u["tools"] = t }
                urls.append(.object(u))
            }
            guard hasPlus else { return .error(400, "at least one plus user is required") }
            var room = JSONObject([("room_id", .string(roomId)), ("participants", .array(list)), ("user_urls", .array(urls))])
            if let d = o["duration"] { room["duration"] = d }
            room["live"] = o["live"] ?? .bool(false)
            rooms.append(room)
            return .json(200, ["room": .object(JSONObject([("room_id", .string(roomId)), ("user_urls", .array(urls))]))])
        case ("DELETE", let p) where p.count == 3 && p[0] == "room" && p[1] == "delete":
            guard let i = rooms.firstIndex(where: { $0["room_id"]?.stringValue == p[2] }) else { return .error(404, "room not found") }
            rooms.remove(at: i)
            return .json(200, ["room_id": .string(p[2])])
        default:
            return .error(404, "no such route")
        }
    }

    /// auth0-client: `/users/?_q={"user_id":{"$in":[…]}}`; an unknown client-type is 401.
    func auth0(method: String, path: [Substring], query: [String: String], clientType: String?) -> Reply {
        guard method == "GET", path == ["users"] else { return .error(404, "no such route") }
        guard let clientType, settings.clientTypes.contains(clientType) else { return .error(401, "unknown client-type") }
        guard let q = query["_q"], let filter = try? JSONParser.parse(q), let o = filter.objectValue, o.keys == ["user_id"],
              let ids = o["user_id"]?["$in"]?.arrayValue, o["user_id"]?.objectValue?.keys == ["$in"]
        else { return .error(400, "_q must be {\"user_id\": {\"$in\": [...]}}") }
        return .json(200, .array(auth0Users.filter { u in ids.contains(u["user_id"] ?? .null) }))
    }
}

import Foundation
import Hummingbird
import MultipartKit
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
                await authorized(try await Incoming.read(request)) { r in await state.bandyerCreateUser(r.json, v2: false) }
            }
            router.post("\(prefix)/room/create") { request, _ in
                await authorized(try await Incoming.read(request)) { r in await state.bandyerCreateRoom(r.json, baseURL: base(r)) }
            }
            router.delete("\(prefix)/room/delete/:room") { request, c in
                await authorized(try await Incoming.read(request)) { _ in await state.bandyerDeleteRoom(c.parameters.get("room") ?? "") }
            }
            router.get("\(prefix)/room/info/:room") { request, c in
                await authorized(try await Incoming.read(request)) { _ in await state.bandyerRoomInformation(c.parameters.get("room") ?? "", v2: false) }
            }
            router.post("\(prefix)/sdk/credentials") { request, _ in
                await authorized(try await Incoming.read(request)) { r in await state.bandyerCredentials(r.json) }
            }
            router.get("\(prefix)/room/:room/upload/list") { request, c in
                await authorized(try await Incoming.read(request)) { _ in await state.bandyerUploads(room: c.parameters.get("room") ?? "", page: nil) }
            }
            router.delete("\(prefix)/upload/:key") { request, c in
                await authorized(try await Incoming.read(request)) { _ in await state.bandyerDeleteUpload(Self.decoded(c.parameters.get("key"))) }
            }
            router.post("\(prefix)/company/virtual-background") { request, _ in
                await authorized(try await Incoming.read(request)) { r in await state.bandyerVirtualBackground(r, baseURL: base(r)) }
            }
            router.post("\(prefix)/company/update") { request, _ in
                await authorized(try await Incoming.read(request)) { r in await state.bandyerUpdateCompany(r.json, v2: false) }
            }
        }
        // v2: resource-style paths under /bandyer/v2, over the same state.
        let v2 = "/bandyer/v2"
        router.post("\(v2)/users") { request, _ in
            await authorized(try await Incoming.read(request)) { r in await state.bandyerCreateUser(r.json, v2: true) }
        }
        router.post("\(v2)/rooms") { request, _ in
            await authorized(try await Incoming.read(request)) { r in await state.bandyerCreateRoomV2(r.json, baseURL: base(r)) }
        }
        router.get("\(v2)/rooms") { request, _ in
            await authorized(try await Incoming.read(request)) { r in await state.bandyerListRooms(r.query) }
        }
        router.get("\(v2)/rooms/:room") { request, c in
            await authorized(try await Incoming.read(request)) { _ in await state.bandyerRoomInformation(c.parameters.get("room") ?? "", v2: true) }
        }
        router.delete("\(v2)/rooms/:room") { request, c in
            await authorized(try await Incoming.read(request)) { _ in await state.bandyerDeleteRoom(c.parameters.get("room") ?? "") }
        }
        router.post("\(v2)/sdk/credentials") { request, _ in
            await authorized(try await Incoming.read(request)) { r in await state.bandyerCredentials(r.json) }
        }
        router.get("\(v2)/uploads") { request, _ in
            await authorized(try await Incoming.read(request)) { r in
                guard let room = r.query["room_id"], let page = EmulatorState.page(r.query) else {
                    return .error(400, "room_id, offset and limit are required")
                }
                return await state.bandyerUploads(room: room, page: page)
            }
        }
        router.delete("\(v2)/uploads/:key") { request, c in
            await authorized(try await Incoming.read(request)) { _ in await state.bandyerDeleteUpload(Self.decoded(c.parameters.get("key"))) }
        }
        router.post("\(v2)/company/virtual-background") { request, _ in
            await authorized(try await Incoming.read(request)) { r in await state.bandyerVirtualBackground(r, baseURL: base(r)) }
        }
        router.put("\(v2)/company") { request, _ in
            await authorized(try await Incoming.read(request)) { r in await state.bandyerUpdateCompany(r.json, v2: true) }
        }
        // A personal link opened in a browser: whose it is, which room, which tools.
        router.get("/bandyer/join/:room/:user") { _, c in
            await state.joinPage(room: c.parameters.get("room") ?? "", user: c.parameters.get("user") ?? "").response
        }
    }

    static func decoded(_ segment: String?) -> String {
        (segment ?? "").removingPercentEncoding ?? (segment ?? "")
    }
}

extension EmulatorState {
    static let toolKeys = ["chat", "screen_sharing", "file_upload", "whiteboard", "snapshot", "live_edit", "live_pointer", "present_to_everyone"]

    func validKey(_ key: String?) -> Bool { key == settings.bandyerKey }

    func bandyerCreateUser(_ body: JSONValue?, v2: Bool) -> Reply {
        guard let o = body?.objectValue, o.keys == ["role"], let role = o["role"]?.stringValue, ["basic", "plus"].contains(role) else {
            return .error(400, "body must be {\"role\": basic|plus}")
        }
        let id = nextToken("usr")
        bandyerUsers.append((id, role))
        return v2 ? .json(201, ["id": .string(id), "role": .string(role)]) : .json(200, ["user_id": .string(id)])
    }

    /// v2 names the recording mode itself, and answers the links under `participants` as `link`.
    func bandyerCreateRoomV2(_ body: JSONValue?, baseURL: String) -> Reply {
        guard let recording = body?["recording"]?.stringValue, ["none", "automatic", "manual"].contains(recording) else {
            return .error(400, "recording must be none, automatic or manual")
        }
        switch bandyerNewRoom(body, baseURL: baseURL, recordingKeys: ["recording"]) {
        case .failure(let reply): return reply
        case .success(var room):
            room["recording"] = .string(recording)
            rooms.append(room)
            let participants: [JSONValue] = (room["user_urls"]?.arrayValue ?? []).map {
                ["user_id": $0["user"] ?? .null, "link": $0["url"] ?? .null, "is_admin": $0["is_admin"] ?? false]
            }
            return .json(201, ["id": room["room_id"] ?? .null, "participants": .array(participants), "live": room["live"] ?? false])
        }
    }

    /// Listings answer at most this many items a page, whatever was asked (so paging is exercised).
    static let maxPage = 5

    static func page(_ query: [String: String]) -> (offset: Int, limit: Int)? {
        guard let offset = query["offset"].flatMap(Int.init), offset >= 0, let limit = query["limit"].flatMap(Int.init), limit >= 1 else { return nil }
        return (offset, min(limit, maxPage))
    }

    func bandyerListRooms(_ query: [String: String]) -> Reply {
        guard let page = Self.page(query) else { return .error(400, "offset and limit are required") }
        let slice = rooms.dropFirst(page.offset).prefix(page.limit)
        let items: [JSONValue] = slice.map { r in
            var item: JSONObject = ["id": r["room_id"] ?? .null, "creation_date": r["creation_date"] ?? .null, "live": r["live"] ?? false]
            // A room seeded with `listed_id`: a listing that names it twice, differently.
            if let other = r["listed_id"] { item["id"] = other; item["room_id"] = r["room_id"] ?? .null }
            return .object(item)
        }
        return .json(200, ["rooms": .array(items), "has_more": .bool(page.offset + slice.count < rooms.count)])
    }

    /// Rooms as if made long ago (the sweep's tests): {"room_id", "creation_date", "listed_id"?} each.
    func seedRooms(_ list: [JSONValue]) -> Reply {
        for r in list {
            guard let id = r["room_id"]?.stringValue, let created = r["creation_date"]?.stringValue else { return .error(400, "room_id and creation_date") }
            var room: JSONObject = ["room_id": .string(id), "participants": [], "user_urls": [], "live": true, "creation_date": .string(created)]
            if let listed = r["listed_id"]?.stringValue { room["listed_id"] = .string(listed) }
            rooms.append(room)
        }
        return .noContent
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

/// The calls of the later routes (1.4 to 2.1), over the same state for both dialects.
extension EmulatorState {
    func room(_ id: String) -> JSONObject? { rooms.first { $0["room_id"]?.stringValue == id } }

    func bandyerRoomInformation(_ id: String, v2: Bool) -> Reply {
        guard let room = room(id) else { return .error(404, "room not found") }
        var info = JSONObject()
        info[v2 ? "id" : "room_id"] = .string(id)
        info["recording"] = room["recording"] ?? "none"
        info["recording_status"] = "stopped"
        info["call_type"] = "audio_video"
        info["description"] = .null
        info["status"] = "active"
        info["disabled"] = false
        info["creation_date"] = room["creation_date"] ?? .null
        info["duration"] = room["duration"] ?? .null
        info["duration_used"] = 0
        info["live"] = room["live"] ?? false
        return .json(200, v2 ? .object(info) : ["room": .object(info)])
    }

    func bandyerCredentials(_ body: JSONValue?) -> Reply {
        guard let o = body?.objectValue, Set(o.keys) == ["user_id", "expires_in"], let user = o["user_id"]?.stringValue,
              let seconds = o["expires_in"]?.intValue, (1...86_400).contains(seconds) else {
            return .error(400, "body must be {\"user_id\", \"expires_in\": 1..86400}")
        }
        guard bandyerUsers.contains(where: { $0.id == user }) else { return .error(404, "unknown user \(user)") }
        let expires = ISO8601DateFormatter.withMillis.string(from: Date().addingTimeInterval(Double(seconds)))
        return .json(200, ["access_token": .string(nextToken("sdk")), "expires_at": .string(expires), "user_id": .string(user)])
    }

    /// v1 answers every upload at once; v2 in pages (`page`: offset, limit).
    func bandyerUploads(room: String, page: (offset: Int, limit: Int)?) -> Reply {
        guard self.room(room) != nil || uploads.contains(where: { $0["room_id"]?.stringValue == room }) else { return .error(404, "room not found") }
        let all = uploads.filter { $0["room_id"]?.stringValue == room }.map(JSONValue.object)
        guard let page else { return .json(200, ["uploads": .array(all)]) }
        let slice = Array(all.dropFirst(page.offset).prefix(page.limit))
        return .json(200, ["offset": .number(Double(page.offset)), "limit": .number(Double(page.limit)),
                           "has_more": .bool(page.offset + slice.count < all.count), "count": .number(Double(all.count)),
                           "uploads": .array(slice)])
    }

    func bandyerDeleteUpload(_ key: String) -> Reply {
        guard let i = uploads.firstIndex(where: { $0["key"]?.stringValue == key }) else { return .error(404, "upload not found") }
        uploads.remove(at: i)
        return .json(200, ["key": .string(key)])
    }

    func seedUploads(room: String, keys: [String]) {
        for key in keys {
            uploads.append(["key": .string(key), "room_id": .string(room), "user_id": "usr_seed", "session_id": "s1",
                            "upload_type": "file", "creation_date": .string(now)])
        }
    }

    func seedBackground(alias: String) {
        backgrounds.append((alias, "https://bandyer.example/backgrounds/\(alias).jpg", now))
    }

    /// A multipart upload with one part `virtual_background` holding a JPEG.
    func bandyerVirtualBackground(_ r: Incoming, baseURL: String) -> Reply {
        guard let type = r.header("content-type"), type.lowercased().hasPrefix("multipart/form-data"),
              let boundary = type.components(separatedBy: "boundary=").last?.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")),
              !boundary.isEmpty else { return .error(400, "multipart/form-data expected") }
        var name: String?
        var isFile = false
        var bytes: [UInt8] = []
        var found: [UInt8]?
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { k, v in
            if k.lowercased() == "content-disposition" {
                name = v.components(separatedBy: "name=\"").dropFirst().first?.components(separatedBy: "\"").first
                isFile = v.contains("filename=")
            }
        }
        parser.onBody = { buffer in bytes.append(contentsOf: buffer.readableBytesView) }
        parser.onPartComplete = {
            if name == "virtual_background" && isFile { found = bytes }
            name = nil; isFile = false; bytes = []
        }
        guard (try? parser.execute(r.bytes)) != nil, let image = found else { return .error(400, "a file part virtual_background is required") }
        guard image.count >= 3, image[0] == 0xFF, image[1] == 0xD8, image[2] == 0xFF else { return .error(400, "virtual_background must be a JPEG") }
        let alias = nextToken("bg")
        seedBackground(alias: alias)
        return .json(200, ["background_alias": .string(alias), "url": .string(backgrounds.last?.url ?? ""), "creation_date": .string(now)])
    }

    /// v1: `{"company": {...}}`; v2: the company at the top.
    func bandyerUpdateCompany(_ body: JSONValue?, v2: Bool) -> Reply {
        guard let o = body?.objectValue, o.keys == ["background_alias"], let alias = o["background_alias"]?.stringValue else {
            return .error(400, "body must be {\"background_alias\"}")
        }
        guard let bg = backgrounds.first(where: { $0.alias == alias }) else { return .error(404, "unknown background alias \(alias)") }
        company["default_background"] = ["alias": .string(bg.alias), "url": .string(bg.url), "creation_date": .string(bg.creationDate)]
        return .json(200, v2 ? .object(company) : ["company": .object(company)])
    }

    /// What a personal link opens here: a small page saying whose link it is.
    func joinPage(room: String, user: String) -> Reply {
        guard let r = self.room(room), let member = r["participants"]?.arrayValue?.first(where: { $0["user_id"]?.stringValue == user }) else {
            return Reply(status: 404, raw: (Array("<!doctype html><title>Not found</title><p>No such room or participant (the room may have been deleted).".utf8),
                                            "text/html; charset=utf-8"))
        }
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        let role = bandyerUsers.first { $0.id == user }?.role ?? "?"
        let tools = member["tools"]?.objectValue.map { $0.members.map { "\($0.key): \($0.value == true ? "on" : "off")" }.joined(separator: ", ") }
            ?? "every tool (none configured)"
        let html = """
            <!doctype html><meta charset="utf-8"><title>Stand-in call</title>
            <h1>Stand-in video call</h1>
            <p>This is the personal link of Bandyer user <b>\(esc(user))</b> (\(esc(role))\(member["is_admin"] == true ? ", room admin" : "")).</p>
            <p>Room <b>\(esc(room))</b>, created \(esc(r["creation_date"]?.stringValue ?? "")), duration \(r["duration"]?.intValue.map { "\($0) s" } ?? "unlimited"), live: \(r["live"] == true).</p>
            <p>Tools: \(esc(tools)).</p>
            <p>With a real Kaleyra Video account, this link opens the call.</p>
            """
        return Reply(status: 200, raw: (Array(html.utf8), "text/html; charset=utf-8"))
    }
}

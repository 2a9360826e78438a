import MultipartKit
import NIOCore
import StrictJSON
import TeleconsultationDomain
import TeleconsultationPorts

/// The video provider on Bandyer's REST API, in the dialect the configuration chose. Only
/// `apikey` and `x-request-id` go out: no proxied header ever reaches this third party.
public struct BandyerVideoProvider: VideoProvider {
    let http: UpstreamHTTP
    let baseURL: String
    let apiKey: String
    let timeout: Duration
    let dialect: any BandyerDialect
    static let upstream = "bandyer"

    /// The dialects of the provider's REST API.
    public enum Dialect: String, Sendable, CaseIterable {
        case v1, v2
    }

    public init(http: UpstreamHTTP, baseURL: String, apiKey: String, timeout: Duration, dialect: Dialect = .v1) {
        self.http = http
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.timeout = timeout
        switch dialect {
        case .v1: self.dialect = BandyerV1()
        case .v2: self.dialect = BandyerV2()
        }
    }

    func call(_ operation: String, _ wire: WireCall, body: UpstreamRequest.Body? = nil, context: UpstreamContext) async throws -> UpstreamAnswer {
        try await http.call(Self.upstream, operation,
                            UpstreamRequest(method: wire.method, url: baseURL + wire.path, headers: [("apikey", apiKey)],
                                            body: body ?? wire.body.map { .json($0) }),
                            timeout: timeout, context: context)
    }

    /// An answer outside the contract (logged without its body, see `UpstreamHTTP.unexpected`).
    func unexpected(_ answer: UpstreamAnswer, _ operation: String, _ context: UpstreamContext) -> UpstreamError {
        http.unexpected(answer, Self.upstream, operation, context: context)
    }

    func invalid(_ operation: String, _ what: String) -> UpstreamError {
        UpstreamError(upstream: Self.upstream, operation: operation, kind: .invalidResponse(what))
    }

    /// The answer of a call that succeeds with 200 or 201, as JSON.
    func created(_ operation: String, _ wire: WireCall, context: UpstreamContext) async throws -> JSONValue {
        let answer = try await call(operation, wire, context: context)
        guard answer.status == 200 || answer.status == 201 else {
            throw unexpected(answer, operation, context)
        }
        return try answer.json(Self.upstream, operation)
    }

    public func createUser(role: Role, context: UpstreamContext) async throws -> String {
        let v = try await created("create user", dialect.createUser(role: role), context: context)
        guard let id = dialect.userId(in: v), Identifiers.isProviderId(id) else { throw invalid("create user", "no valid user id") }
        return id
    }

    public func createRoom(_ plan: RoomPlan, context: UpstreamContext) async throws -> CreatedRoom {
        let v = try await created("create room", dialect.createRoom(plan), context: context)
        let (id, found) = dialect.room(in: v)
        guard let id, Identifiers.isProviderId(id) else { throw invalid("create room", "no valid room id") }
        var links: [String: String] = [:]
        for (user, url) in found where links[user] == nil && (url.hasPrefix("https://") || url.hasPrefix("http://")) {
            links[user] = url
        }
        return CreatedRoom(roomId: id, links: links)
    }

    @discardableResult
    public func deleteRoom(id: String, context: UpstreamContext) async throws -> Bool {
        guard Identifiers.isProviderId(id) else { throw invalid("delete room", "not a provider id") }
        let answer = try await call("delete room", dialect.deleteRoom(id: id), context: context)
        // 404: already gone, which is what we wanted.
        guard [200, 204, 404].contains(answer.status) else { throw unexpected(answer, "delete room", context) }
        return answer.status != 404
    }

    public func rooms(offset: Int, limit: Int, context: UpstreamContext) async throws -> ProviderRoomsPage? {
        guard let wire = dialect.rooms(offset: offset, limit: limit) else { return nil }
        let answer = try await call("list rooms", wire, context: context)
        guard answer.status == 200 else { throw unexpected(answer, "list rooms", context) }
        guard let page = dialect.roomsPage(in: try answer.json(Self.upstream, "list rooms"), offset: offset) else {
            throw invalid("list rooms", "no rooms list")
        }
        let rooms: [ProviderRoom] = try page.items.compactMap { r in
            // `room_id` names the room; an `id` beside it that says otherwise leaves the room
            // unknown, and the sweep must not guess which room it is.
            let roomId = r["room_id"]?.stringValue, otherId = r["id"]?.stringValue
            if let roomId, let otherId, roomId != otherId {
                throw invalid("list rooms", "ambiguous room ids (room_id \(roomId.prefix(128)), id \(otherId.prefix(128)))")
            }
            guard let id = roomId ?? otherId, Identifiers.isProviderId(id) else { return nil }
            return ProviderRoom(id: id, createdAt: Self.instant(r["creation_date"] ?? r["created_at"]))
        }
        return ProviderRoomsPage(rooms: rooms, nextOffset: page.items.isEmpty ? nil : page.nextOffset)
    }

    public func roomDetails(id: String, context: UpstreamContext) async throws -> RoomDetails? {
        guard Identifiers.isProviderId(id) else { throw invalid("room information", "not a provider id") }
        let answer = try await call("room information", dialect.roomInformation(id: id), context: context)
        if answer.status == 404 { return nil }
        guard answer.status == 200 else { throw unexpected(answer, "room information", context) }
        guard let room = dialect.roomObject(in: try answer.json(Self.upstream, "room information")) else {
            throw invalid("room information", "no room object")
        }
        return Self.details(of: room)
    }

    /// The room's fields, in the names both dialects use, as GET's `details`.
    static func details(of room: JSONObject) -> RoomDetails {
        RoomDetails(recording: room["recording"] ?? .null, recordingStatus: room["recording_status"] ?? .null,
                    callType: room["call_type"] ?? .null, description: room["description"] ?? .null,
                    status: room["status"] ?? .null, disabled: room["disabled"] ?? .null,
                    creationDate: room["creation_date"] ?? .null, durationInSeconds: room["duration"] ?? .null,
                    durationUsedInSeconds: room["duration_used"] ?? .null, live: room["live"] ?? .null)
    }

    public func sdkCredentials(userId: String, expiresIn: Int, context: UpstreamContext) async throws -> SDKCredentials {
        guard Identifiers.isProviderId(userId) else { throw invalid("sdk credentials", "not a provider id") }
        // Its answer is a secret: never logged.
        let v = try await created("sdk credentials", dialect.sdkCredentials(userId: userId, expiresIn: expiresIn), context: context)
        guard let token = (v["access_token"] ?? v["token"])?.stringValue, !token.isEmpty else { throw invalid("sdk credentials", "no access token") }
        return SDKCredentials(accessToken: token, expiresAt: Self.instant(v["expires_at"]))
    }

    /// `expires_at` as an ISO date (with or without milliseconds) or a Unix time in seconds or milliseconds.
    static func instant(_ value: JSONValue?) -> Timestamp? {
        switch value {
        case .string(let s)?: return Timestamp(iso: s)
        case .number(let n)? where n > 0 && n.isFinite: return Timestamp(milliseconds: Int64(n > 1e11 ? n : n * 1000))
        default: return nil
        }
    }

    public func uploads(roomId: String, context: UpstreamContext) async throws -> [String] {
        guard Identifiers.isProviderId(roomId) else { throw invalid("list uploads", "not a provider id") }
        var keys: [String] = []
        var offset: Int? = 0
        var pages = 0
        while let at = offset {
            pages += 1
            if pages > 10_000 { throw invalid("list uploads", "the listing does not end") }
            let answer = try await call("list uploads", dialect.uploads(roomId: roomId, offset: at), context: context)
            if answer.status == 404 { return keys }
            guard answer.status == 200 else { throw unexpected(answer, "list uploads", context) }
            guard let page = dialect.uploadsPage(in: try answer.json(Self.upstream, "list uploads"), offset: at) else {
                throw invalid("list uploads", "no uploads list")
            }
            keys += page.items.compactMap { $0["key"]?.stringValue }.filter { !$0.isEmpty }
            offset = page.items.isEmpty ? nil : page.nextOffset
        }
        return keys
    }

    public func deleteUpload(key: String, context: UpstreamContext) async throws {
        // Encoded as one segment, a key still must not be a path step of its own.
        guard Identifiers.isPathSegment(key) else { throw invalid("delete upload", "not a key that can name one path segment") }
        let answer = try await call("delete upload", dialect.deleteUpload(key: key), context: context)
        guard [200, 204, 404].contains(answer.status) else { throw unexpected(answer, "delete upload", context) }
    }

    public func uploadVirtualBackground(_ image: BackgroundImage, context: UpstreamContext) async throws -> VirtualBackground {
        let boundary = "tcb-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        var part = MultipartPart(headers: [:], body: ByteBuffer(bytes: image.bytes))
        part.headers.replaceOrAdd(name: "Content-Disposition", value: "form-data; name=\"virtual_background\"; filename=\"\(Self.safeFilename(image.filename))\"")
        part.headers.replaceOrAdd(name: "Content-Type", value: "image/jpeg")
        var body = ByteBuffer()
        try MultipartSerializer().serialize(parts: [part], boundary: boundary, into: &body)
        let answer = try await call("virtual background", WireCall("POST", dialect.virtualBackgroundPath),
                                    body: .bytes(body, contentType: "multipart/form-data; boundary=\(boundary)"), context: context)
        guard answer.status == 200 || answer.status == 201 else { throw unexpected(answer, "virtual background", context) }
        let v = try answer.json(Self.upstream, "virtual background")
        let o = v["virtual_background"] ?? v
        guard let alias = (o["background_alias"] ?? o["alias"])?.stringValue, !alias.isEmpty else {
            throw invalid("virtual background", "no alias")
        }
        return VirtualBackground(alias: alias, url: o["url"] ?? .null, creationDate: o["creation_date"] ?? .null)
    }

    /// A filename fit for a header: letters, digits, `.-_`, at most 100 characters.
    static func safeFilename(_ name: String) -> String {
        let kept = String(name.unicodeScalars.filter {
            switch $0 {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "-", "_": return true
            default: return false
            }
        }.prefix(100))
        return kept.isEmpty ? "background.jpg" : kept
    }

    public func updateCompany(backgroundAlias: String, context: UpstreamContext) async throws -> Company? {
        let answer = try await call("company update", dialect.updateCompany(backgroundAlias: backgroundAlias), context: context)
        // An alias the provider does not know.
        if answer.status == 400 || answer.status == 404 { return nil }
        guard answer.status == 200 || answer.status == 201 else { throw unexpected(answer, "company update", context) }
        let v = try answer.json(Self.upstream, "company update")
        guard let company = (v["company"] ?? v).objectValue else { throw invalid("company update", "no company object") }
        return Company(fields: company)
    }
}

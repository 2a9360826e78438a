import StrictJSON
import TeleconsultationDomain
import TeleconsultationPorts

/// The teleconsultation store on the CRUD service.
public struct CRUDTeleconsultationStore: TeleconsultationStore {
    let http: UpstreamHTTP
    let baseURL: String
    let teleconsultations: String
    let userMap: String
    /// The room claims' collection, which deployments may share: each claim names its
    /// teleconsultations collection, and a deployment reads only its own.
    let roomClaims: String
    let timeout: Duration
    static let upstream = "crud"
    /// The CRUD's largest page.
    static let maxPage = 200

    public init(http: UpstreamHTTP, baseURL: String, teleconsultations: String, userMap: String, roomClaims: String, timeout: Duration) {
        self.http = http
        self.baseURL = baseURL
        self.teleconsultations = teleconsultations
        self.userMap = userMap
        self.roomClaims = roomClaims
        self.timeout = timeout
    }

    func call(_ operation: String, _ method: String, _ path: String, body: JSONValue? = nil,
              context: UpstreamContext) async throws -> UpstreamAnswer {
        try await http.call(Self.upstream, operation, UpstreamRequest(method: method, url: baseURL + path, headers: context.crudHeaders,
                                                                      body: body.map { .json($0) }),
                            timeout: timeout, context: context)
    }

    func unexpected(_ answer: UpstreamAnswer, _ operation: String, _ context: UpstreamContext) -> UpstreamError {
        http.unexpected(answer, Self.upstream, operation, context: context)
    }

    func invalid(_ operation: String, _ what: String) -> UpstreamError {
        UpstreamError(upstream: Self.upstream, operation: operation, kind: .invalidResponse(what))
    }

    func insert(_ collection: String, _ fields: JSONObject, state: String, operation: String,
                context: UpstreamContext) async throws -> UpstreamAnswer {
        var body = fields
        body["__STATE__"] = .string(state)  // always explicit: the CRUD's default is DRAFT
        return try await call(operation, "POST", "/\(collection)/", body: .object(body), context: context)
    }

    static func checkedId(_ id: String) -> String {
        precondition(Identifiers.isCRUDId(id), "ids are validated before they reach an upstream URL")
        return id
    }

    public func insertDraft(_ t: Teleconsultation, context: UpstreamContext) async throws -> String {
        let answer = try await insert(teleconsultations, CRUDDocuments.fields(of: t), state: "DRAFT", operation: "create", context: context)
        guard answer.status == 200 || answer.status == 201 else { throw unexpected(answer, "create", context) }
        guard let id = try answer.json(Self.upstream, "create")["_id"]?.stringValue, Identifiers.isCRUDId(id) else {
            throw invalid("create", "no valid _id")
        }
        return id
    }

    public func publish(id: String, context: UpstreamContext) async throws -> Bool {
        try await changeState(id: id, to: "PUBLIC", context: context)
    }

    public func trash(id: String, context: UpstreamContext) async throws -> Bool {
        try await changeState(id: id, to: "TRASH", context: context)
    }

    func changeState(id: String, to state: String, context: UpstreamContext) async throws -> Bool {
        let operation = "state \(state)"
        let answer = try await call(operation, "POST", "/\(teleconsultations)/\(Self.checkedId(id))/state",
                                    body: ["stateTo": .string(state)], context: context)
        if answer.status == 404 { return false }
        guard answer.status == 204 || answer.status == 200 else { throw unexpected(answer, operation, context) }
        return true
    }

    public func read(id: String, context: UpstreamContext) async throws -> Teleconsultation? {
        let answer = try await call("read", "GET", "/\(teleconsultations)/\(Self.checkedId(id))", context: context)
        if answer.status == 404 { return nil }
        guard answer.status == 200 else { throw unexpected(answer, "read", context) }
        let value = try answer.json(Self.upstream, "read")
        let legacy = CRUDDocuments.legacyBandyerIds(value)
        let externalIds = legacy.isEmpty ? [:] : try await externalIds(ofBandyerIds: legacy, context: context)
        do {
            return try CRUDDocuments.teleconsultation(value, externalIds: externalIds)
        } catch {
            context.logger.warning("stored teleconsultation is malformed", metadata: ["teleconsultationId": .string(id), "problem": .string(error.description)])
            throw invalid("read", "teleconsultation \(id) is malformed: \(error.description)")
        }
    }

    public func replace(_ t: Teleconsultation, ifVersion: Int?, context: UpstreamContext) async throws -> Bool {
        let condition: JSONValue = ifVersion.map { ["version": .number(Double($0))] } ?? ["version": ["$exists": false]]
        var body = JSONObject()
        body["$set"] = .object(CRUDDocuments.fields(of: t))
        if t.bandyerRoomId == nil { body["$unset"] = ["bandyerRoomId": true] }
        let answer = try await call("update", "PATCH", "/\(teleconsultations)/\(Self.checkedId(t.id))?_q=\(queryEncode(condition.jsonString))",
                                    body: .object(body), context: context)
        if answer.status == 404 { return false }
        guard answer.status == 200 else { throw unexpected(answer, "update", context) }
        return true
    }

    // MARK: the sweep

    public func trashedWithRoom(skip: Int, limit: Int, context: UpstreamContext) async throws -> [(teleconsultationId: String, roomId: String)] {
        let q: JSONValue = ["bandyerRoomId": ["$exists": true]]
        let answer = try await call("find trashed", "GET", "/\(teleconsultations)/?_st=TRASH&_q=\(queryEncode(q.jsonString))&_s=_id&_sk=\(skip)&_l=\(limit)",
                                    context: context)
        guard answer.status == 200 else { throw unexpected(answer, "find trashed", context) }
        guard let list = try answer.json(Self.upstream, "find trashed").arrayValue else { throw invalid("find trashed", "not an array") }
        return list.compactMap { v in
            guard let id = v["_id"]?.stringValue, Identifiers.isCRUDId(id), let room = v["bandyerRoomId"]?.stringValue,
                  Identifiers.isProviderId(room) else { return nil }
            return (id, room)
        }
    }

    public func releaseRoom(teleconsultationId: String, roomId: String, context: UpstreamContext) async throws -> Bool {
        let q: JSONValue = ["bandyerRoomId": .string(roomId)]
        let answer = try await call("release room", "PATCH", "/\(teleconsultations)/\(Self.checkedId(teleconsultationId))?_st=TRASH&_q=\(queryEncode(q.jsonString))",
                                    body: ["$unset": ["bandyerRoomId": true]], context: context)
        if answer.status == 404 { return false }
        guard answer.status == 200 else { throw unexpected(answer, "release room", context) }
        return true
    }

    public func restoreRoom(teleconsultationId: String, roomId: String, context: UpstreamContext) async throws {
        let q: JSONValue = ["bandyerRoomId": ["$exists": false]]
        let answer = try await call("restore room", "PATCH", "/\(teleconsultations)/\(Self.checkedId(teleconsultationId))?_st=TRASH&_q=\(queryEncode(q.jsonString))",
                                    body: ["$set": ["bandyerRoomId": .string(roomId)]], context: context)
        guard answer.status == 200 || answer.status == 404 else { throw unexpected(answer, "restore room", context) }
    }

    public func referencedRooms(_ roomIds: [String], context: UpstreamContext) async throws -> Set<String> {
        if roomIds.isEmpty { return [] }
        let q: JSONValue = ["bandyerRoomId": ["$in": .array(roomIds.map(JSONValue.string))]]
        var found = Set<String>()
        // Several documents may name one room (a trashed one beside a live one): every page.
        var skip = 0
        while true {
            let answer = try await call("find rooms", "GET",
                                        "/\(teleconsultations)/?_st=PUBLIC,DRAFT,TRASH&_q=\(queryEncode(q.jsonString))&_s=_id&_sk=\(skip)&_l=\(Self.maxPage)",
                                        context: context)
            guard answer.status == 200 else { throw unexpected(answer, "find rooms", context) }
            guard let list = try answer.json(Self.upstream, "find rooms").arrayValue else { throw invalid("find rooms", "not an array") }
            for v in list { if let room = v["bandyerRoomId"]?.stringValue { found.insert(room) } }
            if list.count < Self.maxPage { return found }
            skip += list.count
            if skip > 10_000_000 { throw invalid("find rooms", "the listing does not end") }
        }
    }

    // MARK: room claims

    public func insertRoomClaim(teleconsultationId: String?, context: UpstreamContext) async throws -> String {
        var fields = JSONObject([("collection", .string(teleconsultations))])
        if let teleconsultationId { fields["teleconsultationId"] = .string(teleconsultationId) }
        return try await insertClaim(fields, context: context)
    }

    public func insertClaimedRoom(_ roomId: String, teleconsultationId: String, context: UpstreamContext) async throws -> String {
        let fields = JSONObject([("collection", .string(teleconsultations)), ("teleconsultationId", .string(teleconsultationId)),
                                 ("bandyerRoomId", .string(roomId))])
        return try await insertClaim(fields, context: context)
    }

    func insertClaim(_ fields: JSONObject, context: UpstreamContext) async throws -> String {
        let answer = try await insert(roomClaims, fields, state: "PUBLIC", operation: "room claim insert", context: context)
        guard answer.status == 200 || answer.status == 201 else { throw unexpected(answer, "room claim insert", context) }
        guard let id = try answer.json(Self.upstream, "room claim insert")["_id"]?.stringValue, Identifiers.isCRUDId(id) else {
            throw invalid("room claim insert", "no valid _id")
        }
        return id
    }

    public func recordClaimedRoom(claimId: String, roomId: String, context: UpstreamContext) async throws {
        let answer = try await call("room claim update", "PATCH", "/\(roomClaims)/\(Self.checkedId(claimId))",
                                    body: ["$set": ["bandyerRoomId": .string(roomId)]], context: context)
        guard answer.status == 200 else { throw unexpected(answer, "room claim update", context) }
    }

    public func roomClaims(skip: Int, limit: Int, context: UpstreamContext) async throws -> [RoomClaim] {
        let q: JSONValue = ["collection": .string(teleconsultations)]
        let answer = try await call("find room claims", "GET", "/\(roomClaims)/?_q=\(queryEncode(q.jsonString))&_s=_id&_sk=\(skip)&_l=\(limit)",
                                    context: context)
        guard answer.status == 200 else { throw unexpected(answer, "find room claims", context) }
        guard let list = try answer.json(Self.upstream, "find room claims").arrayValue else { throw invalid("find room claims", "not an array") }
        // A claim of another collection never reaches the sweep, whatever the CRUD answered.
        return try list.filter { $0["collection"]?.stringValue == teleconsultations }.map { v in
            guard let id = v["_id"]?.stringValue, Identifiers.isCRUDId(id) else { throw invalid("find room claims", "a claim without a valid _id") }
            return RoomClaim(id: id, teleconsultationId: v["teleconsultationId"]?.stringValue, createdAt: v["createdAt"]?.stringValue.flatMap(Timestamp.init(iso:)),
                             roomId: v["bandyerRoomId"]?.stringValue)
        }
    }

    public func retireRoomClaim(id: String, context: UpstreamContext) async throws {
        let answer = try await call("room claim retire", "POST", "/\(roomClaims)/\(Self.checkedId(id))/state",
                                    body: ["stateTo": "TRASH"], context: context)
        // 404: retired already (by another sweep).
        guard [200, 204, 404].contains(answer.status) else { throw unexpected(answer, "room claim retire", context) }
    }

    // MARK: the user-id map

    public func mappings(externalId: String, context: UpstreamContext) async throws -> [UserMapping] {
        // Entries of the 1.0–1.1 schema name the external id `auth0Id`.
        let q: JSONValue = ["$or": [["receivedUserId": .string(externalId)], ["auth0Id": .string(externalId)]]]
        let answer = try await call("user map find", "GET", "/\(userMap)/?_q=\(queryEncode(q.jsonString))&_s=createdAt&_l=200", context: context)
        guard answer.status == 200 else { throw unexpected(answer, "user map find", context) }
        guard let list = try answer.json(Self.upstream, "user map find").arrayValue else { throw invalid("user map find", "not an array") }
        let entries: [UserMapping] = list.compactMap { v in
            guard let id = v["_id"]?.stringValue, Identifiers.isCRUDId(id),
                  let b = v["bandyerId"]?.stringValue, Identifiers.isProviderId(b) else { return nil }
            let legacy = v["receivedUserId"]?.stringValue != externalId
            guard !legacy || v["auth0Id"]?.stringValue == externalId else { return nil }
            return UserMapping(id: id, receivedUserId: externalId, bandyerId: b,
                               role: v["role"]?.stringValue.flatMap(Role.init(rawValue:)) ?? .basic,
                               createdAt: v["createdAt"]?.stringValue ?? "", isLegacy: legacy)
        }
        // Oldest first: createdAt, then _id (ObjectIds grow with time).
        return entries.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    public func insertMapping(externalId: String, bandyerId: String, role: Role, context: UpstreamContext) async throws {
        let fields = JSONObject([("receivedUserId", .string(externalId)), ("bandyerId", .string(bandyerId)), ("role", .string(role.rawValue))])
        let answer = try await insert(userMap, fields, state: "PUBLIC", operation: "user map insert", context: context)
        // 409: a unique index refused it because another process inserted first; the re-read decides.
        guard [200, 201, 409].contains(answer.status) else { throw unexpected(answer, "user map insert", context) }
    }

    public func repoint(_ mapping: UserMapping, bandyerId: String, role: Role, context: UpstreamContext) async throws {
        var set = JSONObject([("bandyerId", .string(bandyerId)), ("role", .string(role.rawValue))])
        // An entry of the 1.0–1.1 schema is written in today's names from now on.
        if mapping.isLegacy { set["receivedUserId"] = .string(mapping.receivedUserId) }
        var body = JSONObject([("$set", .object(set))])
        if mapping.isLegacy { body["$unset"] = ["auth0Id": true] }
        let answer = try await call("user map update", "PATCH", "/\(userMap)/\(Self.checkedId(mapping.id))", body: .object(body), context: context)
        guard answer.status == 200 else { throw unexpected(answer, "user map update", context) }
    }

    /// External ids of Bandyer users, from the map (for teleconsultations of the 1.0–1.1 schema).
    func externalIds(ofBandyerIds ids: [String], context: UpstreamContext) async throws -> [String: String] {
        let q: JSONValue = ["bandyerId": ["$in": .array(ids.map(JSONValue.string))]]
        let answer = try await call("user map find", "GET", "/\(userMap)/?_q=\(queryEncode(q.jsonString))&_s=createdAt&_l=200", context: context)
        guard answer.status == 200 else { throw unexpected(answer, "user map find", context) }
        var out: [String: String] = [:]
        for v in try answer.json(Self.upstream, "user map find").arrayValue ?? [] {
            guard let b = v["bandyerId"]?.stringValue, out[b] == nil,
                  let external = v["receivedUserId"]?.stringValue ?? v["auth0Id"]?.stringValue else { continue }
            out[b] = external
        }
        return out
    }
}

extension UpstreamContext {
    /// What the CRUD service, and services shaped like it, are sent: the proxied headers and
    /// the caller's id (unless it is among them already).
    var crudHeaders: [(String, String)] {
        var h = proxiedHeaders
        if let u = userIdHeader, !h.contains(where: { $0.0 == u.0 }) { h.append(u) }
        return h
    }
}

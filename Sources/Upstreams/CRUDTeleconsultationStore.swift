import NIOHTTP1
import StrictJSON
import TeleconsultationDomain
import TeleconsultationService

/// The teleconsultation store on the CRUD service.
public struct CRUDTeleconsultationStore: TeleconsultationStore {
    let http: UpstreamHTTP
    let baseURL: String
    let teleconsultations: String
    let userMap: String
    let timeout: Duration

    public init(http: UpstreamHTTP, baseURL: String, teleconsultations: String, userMap: String, timeout: Duration) {
        self.http = http
        self.baseURL = baseURL
        self.teleconsultations = teleconsultations
        self.userMap = userMap
        self.timeout = timeout
    }

    func headers(_ c: UpstreamContext) -> [(String, String)] {
        var h = c.proxiedHeaders
        if let u = c.userIdHeader, !h.contains(where: { $0.0 == u.0 }) { h.append(u) }
        return h
    }

    func call(_ operation: String, _ method: HTTPMethod, _ path: String, body: JSONValue? = nil,
              context: UpstreamContext) async throws -> UpstreamHTTP.Answer {
        try await http.call(upstream: "crud", operation: operation, method: method, url: baseURL + path,
                            headers: headers(context), body: body, timeout: timeout, context: context)
    }

    func fail(_ operation: String, _ answer: UpstreamHTTP.Answer) -> UpstreamError {
        UpstreamError(upstream: "crud", operation: operation, kind: .status(answer.status))
    }

    func insert(_ collection: String, _ fields: JSONObject, state: DocumentState, operation: String,
                context: UpstreamContext) async throws -> UpstreamHTTP.Answer {
        var body = fields
        body["__STATE__"] = .string(state.rawValue)  // always explicit: the CRUD's default is DRAFT
        return try await call(operation, .POST, "/\(collection)/", body: .object(body), context: context)
    }

    public func create(_ fields: JSONObject, state: DocumentState, context: UpstreamContext) async throws -> String {
        let answer = try await insert(teleconsultations, fields, state: state, operation: "create", context: context)
        guard answer.status == 200 || answer.status == 201 else { throw fail("create", answer) }
        guard let id = try answer.json("crud", "create")["_id"]?.stringValue, Identifiers.isCRUDId(id) else {
            throw UpstreamError(upstream: "crud", operation: "create", kind: .invalidResponse("no valid _id"))
        }
        return id
    }

    public func read(id: String, context: UpstreamContext) async throws -> JSONValue? {
        precondition(Identifiers.isCRUDId(id), "ids are validated before they reach an upstream URL")
        let answer = try await call("read", .GET, "/\(teleconsultations)/\(id)", context: context)
        if answer.status == 404 { return nil }
        guard answer.status == 200 else { throw fail("read", answer) }
        let value = try answer.json("crud", "read")
        guard value.objectValue != nil else { throw UpstreamError(upstream: "crud", operation: "read", kind: .invalidResponse("not an object")) }
        return value
    }

    public func update(id: String, expectedVersion: Int?, set: JSONObject, unset: [String], context: UpstreamContext) async throws -> Bool {
        precondition(Identifiers.isCRUDId(id), "ids are validated before they reach an upstream URL")
        let condition: JSONValue = expectedVersion.map { ["version": .number(Double($0))] } ?? ["version": ["$exists": false]]
        var body = JSONObject()
        body["$set"] = .object(set)
        if !unset.isEmpty { body["$unset"] = .object(JSONObject(unset.map { ($0, JSONValue.bool(true)) })) }
        let answer = try await call("update", .PATCH, "/\(teleconsultations)/\(id)?_q=\(queryEncode(condition.jsonString))",
                                    body: .object(body), context: context)
        if answer.status == 404 { return false }
        guard answer.status == 200 else { throw fail("update", answer) }
        return true
    }

    public func changeState(id: String, to state: DocumentState, context: UpstreamContext) async throws -> Bool {
        precondition(Identifiers.isCRUDId(id), "ids are validated before they reach an upstream URL")
        let operation = "state \(state.rawValue)"
        let answer = try await call(operation, .POST, "/\(teleconsultations)/\(id)/state", body: ["stateTo": .string(state.rawValue)], context: context)
        if answer.status == 404 { return false }
        guard answer.status == 204 || answer.status == 200 else { throw fail(operation, answer) }
        return true
    }

    public func mappings(externalId: String, context: UpstreamContext) async throws -> [UserMapping] {
        let q: JSONValue = ["receivedUserId": .string(externalId)]
        let answer = try await call("user map find", .GET, "/\(userMap)/?_q=\(queryEncode(q.jsonString))&_s=createdAt&_l=200", context: context)
        guard answer.status == 200, let list = try answer.json("crud", "user map find").arrayValue else { throw fail("user map find", answer) }
        let entries: [UserMapping] = list.compactMap { v in
            guard let id = v["_id"]?.stringValue, Identifiers.isCRUDId(id), v["receivedUserId"]?.stringValue == externalId,
                  let b = v["bandyerId"]?.stringValue, Identifiers.isProviderId(b) else { return nil }
            return UserMapping(id: id, receivedUserId: externalId, bandyerId: b,
                               role: v["role"]?.stringValue.flatMap(Role.init(rawValue:)) ?? .basic,
                               createdAt: v["createdAt"]?.stringValue ?? "")
        }
        // Oldest first: createdAt, then _id (ObjectIds grow with time).
        return entries.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    public func insertMapping(externalId: String, bandyerId: String, role: Role, context: UpstreamContext) async throws {
        let fields = JSONObject([("receivedUserId", .string(externalId)), ("bandyerId", .string(bandyerId)), ("role", .string(role.rawValue))])
        let answer = try await insert(userMap, fields, state: .public, operation: "user map insert", context: context)
        // 409: a unique index refused it because another process inserted first; the re-read decides.
        guard [200, 201, 409].contains(answer.status) else { throw fail("user map insert", answer) }
    }

    public func repointMapping(id: String, bandyerId: String, role: Role, context: UpstreamContext) async throws {
        precondition(Identifiers.isCRUDId(id), "ids are validated before they reach an upstream URL")
        let body: JSONValue = ["$set": ["bandyerId": .string(bandyerId), "role": .string(role.rawValue)]]
        let answer = try await call("user map update", .PATCH, "/\(userMap)/\(id)", body: body, context: context)
        guard answer.status == 200 else { throw fail("user map update", answer) }
    }
}

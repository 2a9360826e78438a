import StrictJSON
import TeleconsultationDomain
import TeleconsultationPorts

/// Kept Idempotency-Keys in a CRUD collection (`IDEMPOTENCY_CRUD_NAME`) with a unique index
/// on `key`: an insert the index refuses (409) means another request has the key.
public struct CRUDIdempotencyRecords: IdempotencyRecords {
    let collection: CRUDCollection
    static let upstream = CRUDCollection.upstream

    public init(http: UpstreamHTTP, baseURL: String, collection: String, timeout: Duration) {
        self.collection = CRUDCollection(http: http, baseURL: baseURL, name: collection, timeout: timeout)
    }

    public func insert(key: String, fingerprint: String, expiresAt: Timestamp, leaseUntil: Timestamp, context: UpstreamContext) async throws -> String? {
        let body: JSONValue = .object(JSONObject([("key", .string(key)), ("fingerprint", .string(fingerprint)), ("state", "processing"),
                                                  ("expiresAt", .string(expiresAt.iso)), ("leaseUntil", .string(leaseUntil.iso)), ("__STATE__", "PUBLIC")]))
        let answer = try await collection.call("idempotency insert", "POST", "/", body: body, context: context)
        if answer.status == 409 { return nil }
        guard answer.status == 200 || answer.status == 201 else { throw collection.unexpected(answer, "idempotency insert", context) }
        guard let id = try answer.json(Self.upstream, "idempotency insert")["_id"]?.stringValue, Identifiers.isCRUDId(id) else {
            throw UpstreamError(upstream: Self.upstream, operation: "idempotency insert", kind: .invalidResponse("no valid _id"))
        }
        return id
    }

    public func find(key: String, context: UpstreamContext) async throws -> IdempotencyRecord? {
        let q: JSONValue = ["key": .string(key)]
        let answer = try await collection.call("idempotency find", "GET", "/?_q=\(queryEncode(q.jsonString))&_l=1", context: context)
        guard answer.status == 200 else { throw collection.unexpected(answer, "idempotency find", context) }
        guard let list = try answer.json(Self.upstream, "idempotency find").arrayValue else {
            throw UpstreamError(upstream: Self.upstream, operation: "idempotency find", kind: .invalidResponse("not an array"))
        }
        guard let v = list.first else { return nil }
        guard let id = v["_id"]?.stringValue, Identifiers.isCRUDId(id), let fingerprint = v["fingerprint"]?.stringValue,
              let state = v["state"]?.stringValue.flatMap(IdempotencyRecord.State.init(rawValue:)),
              let expiresAt = v["expiresAt"]?.stringValue.flatMap(Timestamp.init(iso:)),
              let leaseUntil = v["leaseUntil"]?.stringValue.flatMap(Timestamp.init(iso:)) else {
            throw UpstreamError(upstream: Self.upstream, operation: "idempotency find", kind: .invalidResponse("a malformed record"))
        }
        return IdempotencyRecord(id: id, fingerprint: fingerprint, state: state, expiresAt: expiresAt, leaseUntil: leaseUntil,
                                 status: v["status"]?.intValue, body: v["body"]?.stringValue)
    }

    public func takeOver(_ record: IdempotencyRecord, fingerprint: String, expiresAt: Timestamp, leaseUntil: Timestamp,
                         context: UpstreamContext) async throws -> Bool {
        // Only while it is as read: of two requests taking it over, one matches.
        let q: JSONValue = ["state": .string(record.state.rawValue), "fingerprint": .string(record.fingerprint),
                            "leaseUntil": .string(record.leaseUntil.iso), "expiresAt": .string(record.expiresAt.iso)]
        let body: JSONValue = ["$set": ["fingerprint": .string(fingerprint), "state": "processing", "expiresAt": .string(expiresAt.iso),
                                        "leaseUntil": .string(leaseUntil.iso)],
                               "$unset": ["status": true, "body": true]]
        let answer = try await collection.call("idempotency take over", "PATCH", "/\(record.id)?_q=\(queryEncode(q.jsonString))", body: body, context: context)
        if answer.status == 404 { return false }
        guard answer.status == 200 else { throw collection.unexpected(answer, "idempotency take over", context) }
        return true
    }

    public func complete(id: String, status: Int, body: String, context: UpstreamContext) async throws {
        try await set(id, ["state": "done", "status": .number(Double(status)), "body": .string(body)], operation: "idempotency complete", context: context)
    }

    public func release(id: String, context: UpstreamContext) async throws {
        try await set(id, ["state": "released"], operation: "idempotency release", context: context)
    }

    func set(_ id: String, _ fields: JSONValue, operation: String, context: UpstreamContext) async throws {
        precondition(Identifiers.isCRUDId(id))
        let answer = try await collection.call(operation, "PATCH", "/\(id)", body: ["$set": fields], context: context)
        guard answer.status == 200 else { throw collection.unexpected(answer, operation, context) }
    }
}

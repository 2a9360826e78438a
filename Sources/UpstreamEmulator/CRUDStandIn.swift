import Foundation
import Hummingbird
import StrictJSON

/// The CRUD service's contract: declared fields only, DRAFT by default, by-id reads see
/// PUBLIC only, `_q` filters (`$eq $ne $in $exists $or $lt $lte $gt $gte`), `_s`/`_sk`/`_l`/`_st`, PATCH
/// operators with an optional `_q` condition, and the state route.
enum CRUDStandIn {
    static func register(on router: Router<BasicRequestContext>, state: EmulatorState) {
        @Sendable func collection(_ c: BasicRequestContext) -> String { c.parameters.get("collection") ?? "" }
        router.post("/crud/:collection") { request, c in
            let r = try await Incoming.read(request)
            guard r.path.hasSuffix("/") else { return Reply.error(404, "collection routes end with '/'").response }
            return await state.crudInsert(collection(c), body: r.json, userId: r.header("miauserid")).response
        }
        router.get("/crud/:collection") { request, c in
            let r = try await Incoming.read(request)
            guard r.path.hasSuffix("/") else { return Reply.error(404, "collection routes end with '/'").response }
            return await state.crudFind(collection(c), query: r.query).response
        }
        router.get("/crud/:collection/:id") { _, c in
            await state.crudRead(collection(c), id: c.parameters.get("id") ?? "").response
        }
        router.patch("/crud/:collection/:id") { request, c in
            let r = try await Incoming.read(request)
            return await state.crudPatch(collection(c), id: c.parameters.get("id") ?? "", query: r.query, body: r.json,
                                         userId: r.header("miauserid")).response
        }
        router.post("/crud/:collection/:id/state") { request, c in
            let r = try await Incoming.read(request)
            return await state.crudState(collection(c), id: c.parameters.get("id") ?? "", body: r.json).response
        }
    }
}

extension EmulatorState {
    enum FieldType { case string, number, date, objectArray }

    /// Declared fields per collection; nil: a collection that takes any field (the custom-id users).
    func schema(_ name: String) -> [String: FieldType]?? {
        switch name {
        case let name where settings.teleconsultations.contains(name):
            return ["startDate": .date, "endDate": .date, "participantsNumber": .number, "version": .number,
                    "participants": .objectArray, "bandyerRoomId": .string, "teleconsultationState": .string]
        // `auth0Id`: the original's 1.0–1.1 name of receivedUserId, declared by collections that kept their old entries.
        case settings.userMap: return ["receivedUserId": .string, "bandyerId": .string, "role": .string, "auth0Id": .string]
        case settings.roomClaims: return ["teleconsultationId": .string, "collection": .string, "bandyerRoomId": .string]
        case settings.idempotency:
            return ["key": .string, "fingerprint": .string, "state": .string, "expiresAt": .date, "leaseUntil": .date, "status": .number, "body": .string]
        case settings.audit:
            return ["at": .date, "action": .string, "teleconsultationId": .string, "actor": .string, "subject": .string, "requestId": .string,
                    "outcome": .number, "dedupe": .string]
        case settings.customUsers: return .some(nil)
        default: return nil
        }
    }

    static let states = ["PUBLIC", "DRAFT", "TRASH", "DELETED"]

    /// The field a collection's unique index covers, as a deployment must declare it.
    func uniqueIndex(_ name: String) -> String? {
        switch name {
        case settings.idempotency: return "key"
        case settings.audit: return "dedupe"
        default: return nil
        }
    }

    static func isObjectId(_ s: String) -> Bool {
        s.utf8.count == 24 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    func check(_ field: String, _ value: JSONValue, in schema: [String: FieldType]?) -> String? {
        guard let schema else { return nil }
        guard let type = schema[field] else { return "body must NOT have additional properties: \(field)" }
        switch (type, value) {
        case (.string, .string), (.number, .number), (.objectArray, .array): break
        case (.date, .string(let s)) where ISO8601DateFormatter.withMillis.date(from: s) != nil: break
        default: return "body/\(field) has the wrong type"
        }
        if case .array(let items) = value, items.contains(where: { $0.objectValue == nil }) {
            return "body/\(field) must be an array of objects"
        }
        return nil
    }

    var now: String { ISO8601DateFormatter.withMillis.string(from: Date()) }

    func crudInsert(_ name: String, body: JSONValue?, userId: String?) -> Reply {
        guard let schema = schema(name) else { return .error(404, "unknown collection") }
        guard let o = body?.objectValue else { return .error(400, "body must be object") }
        var doc = JSONObject()
        doc["_id"] = .string(nextId())
        var state = "DRAFT"
        for m in o.members {
            if m.key == "__STATE__" {
                guard let s = m.value.stringValue, ["PUBLIC", "DRAFT"].contains(s) else { return .error(400, "invalid __STATE__") }
                state = s; continue
            }
            if let problem = check(m.key, m.value, in: schema) { return .error(400, problem) }
            doc[m.key] = m.value
        }
        // A unique index counts documents in every state, as MongoDB's does.
        if let field = uniqueIndex(name), let value = doc[field],
           collections[name, default: []].contains(where: { $0[field] == value }) {
            return .json(409, ["statusCode": 409, "error": "Conflict", "message": .string("E11000 duplicate key error: \(field)")])
        }
        doc["__STATE__"] = .string(state)
        doc["creatorId"] = .string(userId ?? "public"); doc["createdAt"] = .string(now)
        doc["updaterId"] = .string(userId ?? "public"); doc["updatedAt"] = .string(now)
        collections[name, default: []].append(doc)
        return .json(200, ["_id": doc["_id"] ?? .null])
    }

    /// Documents stored as they are (old schemas, custom-id users), bypassing the field checks.
    func crudSeed(_ name: String, documents: [JSONValue]) -> Reply {
        for d in documents {
            guard var doc = d.objectValue else { return .error(400, "documents must be objects") }
            if doc["_id"] == nil { doc["_id"] = .string(nextId()) }
            if doc["__STATE__"] == nil { doc["__STATE__"] = "PUBLIC" }
            if doc["createdAt"] == nil { doc["createdAt"] = .string(now) }
            collections[name, default: []].append(doc)
        }
        return .noContent
    }

    func crudRead(_ name: String, id: String) -> Reply {
        guard schema(name) != nil else { return .error(404, "unknown collection") }
        guard Self.isObjectId(id), let doc = collections[name]?.first(where: { $0["_id"]?.stringValue == id && $0["__STATE__"] == "PUBLIC" })
        else { return .notFound }
        return .json(200, .object(doc))
    }

    func crudFind(_ name: String, query: [String: String]) -> Reply {
        guard schema(name) != nil else { return .error(404, "unknown collection") }
        let filter: JSONObject
        switch parseFilter(query) { case .success(let f): filter = f; case .failure(let e): return .error(400, e.message) }
        let states = (query["_st"] ?? "PUBLIC").split(separator: ",").map(String.init)
        let limit = Int(query["_l"] ?? "25") ?? -1
        guard (1...200).contains(limit) else { return .error(400, "_l must be between 1 and 200") }
        let skip = Int(query["_sk"] ?? "0") ?? -1
        guard skip >= 0 else { return .error(400, "_sk must be a non-negative integer") }
        var out: [JSONObject] = []
        for doc in collections[name] ?? [] where states.contains(doc["__STATE__"]?.stringValue ?? "") {
            switch matches(doc, filter) {
            case .success(true): out.append(doc)
            case .success(false): continue
            case .failure(let e): return .error(400, e.message)
            }
        }
        if let s = query["_s"] {
            let desc = s.hasPrefix("-")
            let field = desc ? String(s.dropFirst()) : s
            out.sort { a, b in
                let x = a[field]?.jsonString ?? "", y = b[field]?.jsonString ?? ""
                return desc ? x > y : x < y
            }
        }
        return .json(200, .array(out.dropFirst(skip).prefix(limit).map(JSONValue.object)))
    }

    func crudPatch(_ name: String, id: String, query: [String: String], body: JSONValue?, userId: String?) -> Reply {
        guard let schema = schema(name) else { return .error(404, "unknown collection") }
        guard Self.isObjectId(id) else { return .notFound }
        let filter: JSONObject
        switch parseFilter(query) { case .success(let f): filter = f; case .failure(let e): return .error(400, e.message) }
        // `_st` says which states the id may be in (PUBLIC by default).
        let states = (query["_st"] ?? "PUBLIC").split(separator: ",").map(String.init)
        guard let i = collections[name]?.firstIndex(where: { $0["_id"]?.stringValue == id && states.contains($0["__STATE__"]?.stringValue ?? "") }),
              var doc = collections[name]?[i] else { return .notFound }
        switch matches(doc, filter) {
        case .success(true): break
        case .success(false): return .notFound
        case .failure(let e): return .error(400, e.message)
        }
        guard let ops = body?.objectValue, ops.count > 0 else { return .error(400, "body must be a non-empty object of operators") }
        for op in ops.members {
            guard let fields = op.value.objectValue else { return .error(400, "\(op.key) must be object") }
            for f in fields.members {
                if let schema, schema[f.key] == nil { return .error(400, "body/\(op.key) must NOT have additional properties: \(f.key)") }
                switch op.key {
                case "$set":
                    if let problem = check(f.key, f.value, in: schema) { return .error(400, problem) }
                    doc[f.key] = f.value
                case "$unset":
                    guard f.value == .bool(true) else { return .error(400, "$unset values must be true") }
                    doc[f.key] = nil
                case "$inc":
                    guard let d = f.value.doubleValue, schema?[f.key] == .number else { return .error(400, "$inc needs a number field") }
                    doc[f.key] = .number((doc[f.key]?.doubleValue ?? 0) + d)
                case "$push":
                    guard schema?[f.key] == .objectArray, f.value.objectValue != nil else { return .error(400, "$push needs an array of objects") }
                    doc[f.key] = .array((doc[f.key]?.arrayValue ?? []) + [f.value])
                case "$pull":
                    guard schema?[f.key] == .objectArray else { return .error(400, "$pull needs an array field") }
                    doc[f.key] = .array((doc[f.key]?.arrayValue ?? []).filter { $0 != f.value })
                default:
                    return .error(400, "unsupported operator \(op.key)")
                }
            }
        }
        doc["updaterId"] = .string(userId ?? "public"); doc["updatedAt"] = .string(now)
        collections[name]?[i] = doc
        return .json(200, .object(doc))
    }

    func crudState(_ name: String, id: String, body: JSONValue?) -> Reply {
        guard schema(name) != nil else { return .error(404, "unknown collection") }
        guard Self.isObjectId(id), let i = collections[name]?.firstIndex(where: { $0["_id"]?.stringValue == id }) else { return .notFound }
        guard let o = body?.objectValue, o.keys == ["stateTo"], let to = o["stateTo"]?.stringValue, Self.states.contains(to) else {
            return .error(400, "body must be {\"stateTo\": PUBLIC|DRAFT|TRASH|DELETED}")
        }
        let from = collections[name]?[i]["__STATE__"]?.stringValue ?? "DRAFT"
        let allowed: [String: [String]] = ["DRAFT": ["PUBLIC", "TRASH"], "PUBLIC": ["DRAFT", "TRASH"], "TRASH": ["DRAFT", "DELETED"]]
        guard allowed[from, default: []].contains(to) else { return .error(400, "transition from \(from) to \(to) is not allowed") }
        collections[name]?[i]["__STATE__"] = .string(to)
        collections[name]?[i]["updatedAt"] = .string(now)
        return .noContent
    }

    struct FilterError: Error { let message: String }

    func parseFilter(_ query: [String: String]) -> Result<JSONObject, FilterError> {
        var filter = JSONObject()
        for (k, v) in query where !k.hasPrefix("_") { filter[k] = .string(v) }
        if let q = query["_q"] {
            guard let parsed = try? JSONParser.parse(q), let o = parsed.objectValue else { return .failure(FilterError(message: "_q must be a JSON object")) }
            for m in o.members { filter[m.key] = m.value }
        }
        return .success(filter)
    }

    func matches(_ doc: JSONObject, _ filter: JSONObject) -> Result<Bool, FilterError> {
        for m in filter.members {
            if m.key == "$or" {
                guard let branches = m.value.arrayValue, !branches.isEmpty else { return .failure(FilterError(message: "$or needs a non-empty array")) }
                var any = false
                for b in branches {
                    guard let o = b.objectValue else { return .failure(FilterError(message: "$or items must be objects")) }
                    switch matches(doc, o) {
                    case .success(true): any = true
                    case .success(false): break
                    case .failure(let e): return .failure(e)
                    }
                }
                if !any { return .success(false) }
                continue
            }
            if m.key.hasPrefix("$") { return .failure(FilterError(message: "unsupported operator \(m.key)")) }
            let actual = doc[m.key]
            if let ops = m.value.objectValue, ops.keys.allSatisfy({ $0.hasPrefix("$") }), ops.count > 0 {
                for op in ops.members {
                    switch op.key {
                    case "$eq": if actual != op.value { return .success(false) }
                    case "$ne": if actual == op.value { return .success(false) }
                    case "$in":
                        guard let list = op.value.arrayValue else { return .failure(FilterError(message: "$in needs an array")) }
                        guard let actual, list.contains(actual) else { return .success(false) }
                    case "$exists":
                        guard let b = op.value.boolValue else { return .failure(FilterError(message: "$exists needs a boolean")) }
                        if (actual != nil) != b { return .success(false) }
                    case "$lt", "$lte", "$gt", "$gte":
                        // Strings (ISO dates among them) and numbers, each with its own kind.
                        let order: Int?
                        switch (actual, op.value) {
                        case (.string(let a)?, .string(let b)): order = a < b ? -1 : (a == b ? 0 : 1)
                        case (.number(let a)?, .number(let b)): order = a < b ? -1 : (a == b ? 0 : 1)
                        default: order = nil
                        }
                        guard let order else { return .success(false) }
                        let holds = switch op.key { case "$lt": order < 0; case "$lte": order <= 0; case "$gt": order > 0; default: order >= 0 }
                        if !holds { return .success(false) }
                    default: return .failure(FilterError(message: "unsupported operator \(op.key)"))
                    }
                }
            } else if actual != m.value {
                return .success(false)
            }
        }
        return .success(true)
    }
}

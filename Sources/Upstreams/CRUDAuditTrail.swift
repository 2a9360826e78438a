import StrictJSON
import TeleconsultationDomain
import TeleconsultationPorts

/// The audit trail in a CRUD collection (`AUDIT_CRUD_NAME`), append-only: records are
/// inserted, never updated or deleted. A unique index on `dedupe` keeps a record that must
/// be written once (a link's first issuance) from being written twice by two processes.
public struct CRUDAuditTrail: AuditTrail {
    let collection: CRUDCollection
    static let upstream = CRUDCollection.upstream

    public init(http: UpstreamHTTP, baseURL: String, collection: String, timeout: Duration) {
        self.collection = CRUDCollection(http: http, baseURL: baseURL, name: collection, timeout: timeout)
    }

    @discardableResult
    public func append(_ record: AuditRecord, dedupe: String?, context: UpstreamContext) async throws -> Bool {
        var fields = JSONObject([("at", .string(record.at.iso)), ("action", .string(record.action.rawValue)),
                                 ("requestId", .string(record.requestId)), ("outcome", .number(Double(record.outcome)))])
        // Absent, not null: the collection declares strings.
        if let t = record.teleconsultationId { fields["teleconsultationId"] = .string(t) }
        if let a = record.actor { fields["actor"] = .string(a) }
        if let s = record.subject { fields["subject"] = .string(s) }
        if let dedupe { fields["dedupe"] = .string(dedupe) }
        fields["__STATE__"] = "PUBLIC"
        let answer = try await collection.call("audit append", "POST", "/", body: .object(fields), context: context)
        if answer.status == 409 && dedupe != nil { return false }
        guard answer.status == 200 || answer.status == 201 else { throw collection.unexpected(answer, "audit append", context) }
        return true
    }

    public func records(teleconsultationId: String, before: Timestamp?, limit: Int, context: UpstreamContext) async throws -> [AuditRecord] {
        var q: JSONObject = ["teleconsultationId": .string(teleconsultationId)]
        if let before { q["at"] = ["$lt": .string(before.iso)] }
        let answer = try await collection.call("audit find", "GET", "/?_q=\(queryEncode(JSONValue.object(q).jsonString))&_s=-at&_l=\(limit)",
                                    context: context)
        guard answer.status == 200 else { throw collection.unexpected(answer, "audit find", context) }
        guard let list = try answer.json(Self.upstream, "audit find").arrayValue else {
            throw UpstreamError(upstream: Self.upstream, operation: "audit find", kind: .invalidResponse("not an array"))
        }
        return try list.map { v in
            guard let at = v["at"]?.stringValue.flatMap(Timestamp.init(iso:)), let action = v["action"]?.stringValue.flatMap(AuditRecord.Action.init(rawValue:)),
                  let outcome = v["outcome"]?.intValue else {
                throw UpstreamError(upstream: Self.upstream, operation: "audit find", kind: .invalidResponse("a malformed audit record"))
            }
            return AuditRecord(at: at, action: action, teleconsultationId: v["teleconsultationId"]?.stringValue, actor: v["actor"]?.stringValue,
                               subject: v["subject"]?.stringValue, requestId: v["requestId"]?.stringValue ?? "", outcome: outcome)
        }
    }
}

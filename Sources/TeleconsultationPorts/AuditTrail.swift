import TeleconsultationDomain

/// The audit trail: append-only records of who did what to a teleconsultation, and to whom
/// each personal link and token was first issued (API.md, "Beyond the original").
public protocol AuditTrail: Sendable {
    /// Appends one record. With a `dedupe` key, a record with the same key is written once:
    /// false when it was there already.
    @discardableResult
    func append(_ record: AuditRecord, dedupe: String?, context: UpstreamContext) async throws -> Bool
    /// A teleconsultation's records, newest first, before `before` (exclusive), at most `limit`.
    func records(teleconsultationId: String, before: Timestamp?, limit: Int, context: UpstreamContext) async throws -> [AuditRecord]
}

public struct AuditRecord: Sendable, Equatable {
    public enum Action: String, Sendable, Equatable, CaseIterable {
        case create, update, participantsData = "participants_data", delete, deleteUploads = "delete_uploads", credentials
        case linkIssued = "link_issued"
    }
    public var at: Timestamp
    public var action: Action
    public var teleconsultationId: String?
    /// The caller's id; nil when the request had none.
    public var actor: String?
    /// The participant (or the token's user) the action was about.
    public var subject: String?
    public var requestId: String
    /// The HTTP status answered.
    public var outcome: Int

    public init(at: Timestamp, action: Action, teleconsultationId: String?, actor: String?, subject: String?, requestId: String, outcome: Int) {
        self.at = at
        self.action = action
        self.teleconsultationId = teleconsultationId
        self.actor = actor
        self.subject = subject
        self.requestId = requestId
        self.outcome = outcome
    }
}

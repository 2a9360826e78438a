import TeleconsultationDomain
import TeleconsultationPorts

/// GET /teleconsultation/:roomId/audit: the teleconsultation's audit records, newest first,
/// for its plus participants only.
public struct ReadAuditTrail: Sendable {
    let deps: UseCaseDependencies
    let trail: any AuditTrail
    /// The CRUD's largest page.
    static let maxPage = 200

    public init(_ deps: UseCaseDependencies, trail: any AuditTrail) {
        self.deps = deps
        self.trail = trail
    }

    /// One page, and where the next starts (the last record's `at`; nil after the last page).
    public func run(roomId: String, callerId: String?, before: Timestamp?, limit: Int, context: UpstreamContext) async throws
        -> (records: [AuditRecord], next: Timestamp?) {
        let document = try await deps.read(roomId, context: context)
        guard let callerId, document.participant(externalId: callerId) != nil,
              let identity = try await deps.directory.caller(callerId, context: context), identity.role == .plus else {
            throw TeleconsultationError.unauthorized
        }
        // One more than shown tells whether another page follows.
        let page = try await trail.records(teleconsultationId: roomId, before: before, limit: min(limit + 1, Self.maxPage), context: context)
        let shown = Array(page.prefix(limit))
        let more = page.count > limit || (page.count == Self.maxPage && limit == Self.maxPage)
        return (shown, more ? shown.last?.at : nil)
    }
}

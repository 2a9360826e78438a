import Logging
import Synchronization
import TeleconsultationDomain
import TeleconsultationPorts

/// Writes the audit trail (`AUDIT_CRUD_NAME`): one record per action, and one per participant
/// and room for the first personal link they receive, not one per poll. A write that fails is
/// logged at error level and counted; with `AUDIT_REQUIRED` no link or token is given out
/// without its record (503).
public final class AuditLog: Sendable {
    let trail: any AuditTrail
    let required: Bool
    let now: @Sendable () -> Timestamp
    let failed: @Sendable () -> Void
    /// Links this process knows are recorded: later polls write nothing. Bounded; across
    /// processes the trail's unique `dedupe` index keeps the record single.
    private let issuedLinks = Mutex<Set<String>>([])
    static let rememberedLinks = 100_000

    public init(trail: any AuditTrail, required: Bool, now: @escaping @Sendable () -> Timestamp, failed: @escaping @Sendable () -> Void = {}) {
        self.trail = trail
        self.required = required
        self.now = now
        self.failed = failed
    }

    /// Records a change that is done: a failure is logged and counted, never fails the request.
    public func record(_ action: AuditRecord.Action, teleconsultationId: String?, actor: String?, subject: String?, outcome: Int,
                       context: UpstreamContext) async {
        do {
            try await append(action, teleconsultationId: teleconsultationId, actor: actor, subject: subject, outcome: outcome, dedupe: nil, context: context)
        } catch {
            // The change stands: nothing to fail closed on.
        }
    }

    /// Records an issuance (a token): with `AUDIT_REQUIRED`, a record that cannot be written fails the request.
    public func recordIssuance(_ action: AuditRecord.Action, teleconsultationId: String?, actor: String?, subject: String?, outcome: Int,
                               context: UpstreamContext) async throws {
        do {
            try await append(action, teleconsultationId: teleconsultationId, actor: actor, subject: subject, outcome: outcome, dedupe: nil, context: context)
        } catch {
            if required { throw AuditUnavailable() }
        }
    }

    /// Records the first time `subject` receives a link to `roomId`'s call; later calls write nothing.
    public func linkIssued(teleconsultationId: String, roomId: String?, actor: String?, subject: String, outcome: Int, context: UpstreamContext) async throws {
        let key = "link_issued \(teleconsultationId) \(roomId ?? "") \(subject.utf8.count):\(subject)"
        if issuedLinks.withLock({ $0.contains(key) }) { return }
        do {
            try await append(.linkIssued, teleconsultationId: teleconsultationId, actor: actor, subject: subject, outcome: outcome,
                             dedupe: SHA256Digest.hex(of: Array(key.utf8)), context: context)
        } catch {
            if required { throw AuditUnavailable() }
            return
        }
        issuedLinks.withLock { links in
            if links.count >= Self.rememberedLinks { links.removeAll(keepingCapacity: true) }
            links.insert(key)
        }
    }

    func append(_ action: AuditRecord.Action, teleconsultationId: String?, actor: String?, subject: String?, outcome: Int, dedupe: String?,
                context: UpstreamContext) async throws {
        let record = AuditRecord(at: now(), action: action, teleconsultationId: teleconsultationId, actor: actor, subject: subject,
                                 requestId: context.requestId, outcome: outcome)
        do {
            try await trail.append(record, dedupe: dedupe, context: context)
        } catch {
            failed()
            context.logger.error("audit record could not be written", metadata: [
                "action": .string(action.rawValue), "teleconsultationId": .string(teleconsultationId ?? ""), "error": .string(String(describing: error)),
            ])
            throw error
        }
    }
}

/// An audit record that `AUDIT_REQUIRED` needs could not be written: 503.
public struct AuditUnavailable: Error, Sendable {}

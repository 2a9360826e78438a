import TeleconsultationPorts
import TeleconsultationDomain

/// Every use case, built once over the same dependencies.
public struct Teleconsultations: Sendable {
    public let create: CreateTeleconsultation
    public let update: UpdateTeleconsultation
    public let addParticipant: AddParticipant
    public let join: JoinTeleconsultation
    public let delete: DeleteTeleconsultation
    public let deleteUploads: DeleteUploads
    public let credentials: IssueCredentials
    public let settings: CompanySettings
    public let mode: OperatingMode
    /// nil: no audit trail (`AUDIT_CRUD_NAME` unset).
    public let audit: AuditLog?
    public let readAudit: ReadAuditTrail?

    /// `deleteUploads`: TELECONSULTATION_DELETE_UPLOADS.
    public init(_ deps: UseCaseDependencies, deleteUploads: Bool = false, audit: (log: AuditLog, trail: any AuditTrail)? = nil) {
        self.audit = audit?.log
        readAudit = audit.map { ReadAuditTrail(deps, trail: $0.trail) }
        create = CreateTeleconsultation(deps)
        update = UpdateTeleconsultation(deps)
        addParticipant = AddParticipant(deps)
        join = JoinTeleconsultation(deps)
        self.deleteUploads = DeleteUploads(deps, enabled: deleteUploads)
        delete = DeleteTeleconsultation(deps, uploads: self.deleteUploads)
        credentials = IssueCredentials(deps)
        settings = CompanySettings(deps)
        mode = deps.directory.mode
    }
}

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

    /// `deleteUploads`: TELECONSULTATION_DELETE_UPLOADS.
    public init(_ deps: UseCaseDependencies, deleteUploads: Bool = false) {
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

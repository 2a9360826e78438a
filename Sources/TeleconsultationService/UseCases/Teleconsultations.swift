import TeleconsultationDomain

/// Every use case, built once over the same dependencies.
public struct Teleconsultations: Sendable {
    public let create: CreateTeleconsultation
    public let update: UpdateTeleconsultation
    public let addParticipant: AddParticipant
    public let join: JoinTeleconsultation
    public let delete: DeleteTeleconsultation
    public let mode: OperatingMode

    public init(_ deps: UseCaseDependencies) {
        create = CreateTeleconsultation(deps)
        update = UpdateTeleconsultation(deps)
        addParticipant = AddParticipant(deps)
        join = JoinTeleconsultation(deps)
        delete = DeleteTeleconsultation(deps)
        mode = deps.directory.mode
    }
}

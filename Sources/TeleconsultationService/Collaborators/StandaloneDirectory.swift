import TeleconsultationDomain
import TeleconsultationPorts

/// Standalone mode: each participant brings its groups and name in the request, and they
/// are stored with it.
public struct StandaloneDirectory: ParticipantDirectory {
    let privileges: Privileges

    public init(privileges: Privileges) {
        self.privileges = privileges
    }

    public var mode: OperatingMode { .standalone }

    public func identities(of required: [ParticipantInput], optional: [ParticipantInput], context: UpstreamContext) async throws -> [String: Identity] {
        var result: [String: Identity] = [:]
        for p in required {
            guard let role = privileges.role(forGroups: p.groups ?? []) else { throw TeleconsultationError.noAllowedGroup(userId: p.userExternalId) }
            result[p.userExternalId] = Identity(role: role, name: p.fullName)
        }
        for p in optional where result[p.userExternalId] == nil {
            if let role = privileges.role(forGroups: p.groups ?? []) { result[p.userExternalId] = Identity(role: role, name: p.fullName) }
        }
        return result
    }

    public func names(of participants: [Participant], context: UpstreamContext) async -> [String: String] {
        var names: [String: String] = [:]
        for p in participants { if let n = p.fullName, names[p.userExternalId] == nil { names[p.userExternalId] = n } }
        return names
    }

    public func stored(_ input: ParticipantInput) -> Participant {
        Participant(userExternalId: input.userExternalId, groups: input.groups, fullName: input.fullName, language: input.language)
    }
}

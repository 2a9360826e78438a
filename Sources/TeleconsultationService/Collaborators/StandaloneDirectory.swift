import TeleconsultationDomain
import TeleconsultationPorts

/// Standalone mode: each participant brings its groups and name in the request, and they
/// are stored with it. A caller outside a teleconsultation is known only by the user-id map
/// (someone who has been a participant), with the role it was mapped with.
public struct StandaloneDirectory: ParticipantDirectory {
    let privileges: Privileges
    let store: any TeleconsultationStore

    public init(privileges: Privileges, store: any TeleconsultationStore) {
        self.privileges = privileges
        self.store = store
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

    public func profiles(of participants: [Participant], context: UpstreamContext) async -> [String: Profile] {
        var profiles: [String: Profile] = [:]
        for p in participants where profiles[p.userExternalId] == nil {
            profiles[p.userExternalId] = Profile(name: p.fullName, groups: p.groups ?? [])
        }
        return profiles
    }

    public func caller(_ id: String, context: UpstreamContext) async throws -> Identity? {
        try await store.mappings(externalId: id, context: context).first.map { Identity(role: $0.role, name: nil) }
    }

    public func stored(_ input: ParticipantInput) -> Participant {
        Participant(userExternalId: input.userExternalId, groups: input.groups, fullName: input.fullName, language: input.language)
    }
}

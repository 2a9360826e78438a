import TeleconsultationDomain
import TeleconsultationPorts

/// auth0 mode: roles and names come from auth0-client, asked again every time a room is
/// planned (one call for everybody); only ids and languages are stored.
public struct Auth0Directory: ParticipantDirectory {
    let privileges: Privileges
    let users: any UserDirectory

    public init(privileges: Privileges, users: any UserDirectory) {
        self.privileges = privileges
        self.users = users
    }

    public var mode: OperatingMode { .auth0 }

    public func identities(of required: [ParticipantInput], optional: [ParticipantInput], context: UpstreamContext) async throws -> [String: Identity] {
        var ids: [String] = []
        var seen = Set<String>()
        for p in required + optional where seen.insert(p.userExternalId).inserted { ids.append(p.userExternalId) }
        let byId = try await known(ids, context: context)
        var result: [String: Identity] = [:]
        for p in required {
            guard let u = byId[p.userExternalId] else { throw TeleconsultationError.unknownDirectoryUser(userId: p.userExternalId) }
            guard let role = privileges.role(forGroups: u.groups) else { throw TeleconsultationError.noAllowedGroup(userId: p.userExternalId) }
            result[p.userExternalId] = Identity(role: role, name: u.name)
        }
        for p in optional where result[p.userExternalId] == nil {
            if let u = byId[p.userExternalId], let role = privileges.role(forGroups: u.groups) {
                result[p.userExternalId] = Identity(role: role, name: u.name)
            }
        }
        return result
    }

    public func names(of participants: [Participant], context: UpstreamContext) async -> [String: String] {
        var ids: [String] = []
        var seen = Set<String>()
        for p in participants where !p.userExternalId.isEmpty && seen.insert(p.userExternalId).inserted { ids.append(p.userExternalId) }
        do {
            var names: [String: String] = [:]
            for (id, u) in try await known(ids, context: context) { if let n = u.name { names[id] = n } }
            return names
        } catch {
            context.logger.warning("participants' names could not be fetched: answering without them",
                                   metadata: ["error": .string(String(describing: error))])
            return [:]
        }
    }

    public func stored(_ input: ParticipantInput) -> Participant {
        Participant(userExternalId: input.userExternalId, language: input.language)
    }

    /// The users auth0-client knows among `ids`, by id.
    func known(_ ids: [String], context: UpstreamContext) async throws -> [String: DirectoryUser] {
        if ids.isEmpty { return [:] }
        var byId: [String: DirectoryUser] = [:]
        for u in try await users.users(ids: ids, context: context) where byId[u.userId] == nil { byId[u.userId] = u }
        return byId
    }
}

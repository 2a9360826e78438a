import TeleconsultationDomain
import TeleconsultationPorts

/// auth0 mode: roles and names come from auth0-client, asked again every time a room is
/// planned (one call for everybody); only ids and languages are stored. With custom user
/// ids, the ids are translated first (one more call), and stored as received.
public struct Auth0Directory: ParticipantDirectory {
    let privileges: Privileges
    let users: any UserDirectory
    let translator: (any UserIdTranslator)?

    public init(privileges: Privileges, users: any UserDirectory, translator: (any UserIdTranslator)? = nil) {
        self.privileges = privileges
        self.users = users
        self.translator = translator
    }

    public var mode: OperatingMode { .auth0 }

    public func identities(of required: [ParticipantInput], optional: [ParticipantInput], context: UpstreamContext) async throws -> [String: Identity] {
        let byId = try await known(unique(required + optional), required: Set(required.map(\.userExternalId)), context: context)
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

    public func profiles(of participants: [Participant], context: UpstreamContext) async -> [String: Profile] {
        do {
            let ids = unique(participants.map(\.input)).filter { !$0.isEmpty }
            return try await known(ids, required: [], context: context).mapValues { Profile(name: $0.name, groups: $0.groups) }
        } catch {
            context.logger.warning("participants' names could not be fetched: answering without them",
                                   metadata: ["error": .string(String(describing: error))])
            return [:]
        }
    }

    public func caller(_ id: String, context: UpstreamContext) async throws -> Identity? {
        guard let u = try await known([id], required: [], context: context)[id], let role = privileges.role(forGroups: u.groups) else { return nil }
        return Identity(role: role, name: u.name)
    }

    public func stored(_ input: ParticipantInput) -> Participant {
        Participant(userExternalId: input.userExternalId, language: input.language)
    }

    func unique(_ inputs: [ParticipantInput]) -> [String] {
        var ids: [String] = []
        var seen = Set<String>()
        for p in inputs where seen.insert(p.userExternalId).inserted { ids.append(p.userExternalId) }
        return ids
    }

    /// The users auth0-client knows among `ids`, by the ids as given. Custom ids are
    /// translated first: one in `required` that the endpoint does not know is a 400 naming it.
    func known(_ ids: [String], required: Set<String>, context: UpstreamContext) async throws -> [String: DirectoryUser] {
        if ids.isEmpty { return [:] }
        var auth0Ids: [String: String] = Dictionary(uniqueKeysWithValues: ids.map { ($0, $0) })
        if let translator {
            auth0Ids = try await translator.auth0Ids(of: ids, context: context)
            for id in ids where auth0Ids[id] == nil && required.contains(id) { throw TeleconsultationError.unknownCustomUser(userId: id) }
        }
        var lookups: [String] = []
        var seen = Set<String>()
        for id in ids { if let a = auth0Ids[id], seen.insert(a).inserted { lookups.append(a) } }
        var byAuth0Id: [String: DirectoryUser] = [:]
        for u in try await users.users(ids: lookups, context: context) where byAuth0Id[u.userId] == nil { byAuth0Id[u.userId] = u }
        var byId: [String: DirectoryUser] = [:]
        for id in ids { if let a = auth0Ids[id], let u = byAuth0Id[a] { byId[id] = u } }
        return byId
    }
}

import TeleconsultationDomain
import TeleconsultationPorts

/// A participant's role and the name shown to the others.
public struct Identity: Sendable, Equatable {
    public var role: Role
    public var name: String?
    public init(role: Role, name: String?) {
        self.role = role
        self.name = name
    }
}

/// What GET shows of a participant: the name, and the groups that decide the caller's background.
public struct Profile: Sendable, Equatable {
    public var name: String?
    public var groups: [String]
    public init(name: String?, groups: [String]) {
        self.name = name
        self.groups = groups
    }
}

/// Where participants' roles and names come from: the request itself (standalone mode) or
/// auth0-client (auth0 mode). The use cases ask this, never which mode is on.
public protocol ParticipantDirectory: Sendable {
    var mode: OperatingMode { get }
    /// The identities of `required` (each must be known and in a privileged group, else a
    /// 400 naming it) and, where they can be found, of `optional` (stored participants, to
    /// compare rooms with today's roles). One upstream call at most.
    func identities(of required: [ParticipantInput], optional: [ParticipantInput], context: UpstreamContext) async throws -> [String: Identity]
    /// The names and groups to use on GET. An upstream outage leaves them out (and is
    /// logged): the waiting room keeps working.
    func profiles(of participants: [Participant], context: UpstreamContext) async -> [String: Profile]
    /// The caller of a route about no one teleconsultation (credentials, settings): its role,
    /// or nil when it is unknown or in no privileged group.
    func caller(_ id: String, context: UpstreamContext) async throws -> Identity?
    /// What a request's participant becomes when stored.
    func stored(_ input: ParticipantInput) -> Participant
}

/// A participant whose Bandyer user and role are known.
public struct ResolvedParticipant: Sendable, Equatable {
    public var externalId: String
    public var bandyerUserId: String
    public var role: Role

    public init(externalId: String, bandyerUserId: String, role: Role) {
        self.externalId = externalId
        self.bandyerUserId = bandyerUserId
        self.role = role
    }
}

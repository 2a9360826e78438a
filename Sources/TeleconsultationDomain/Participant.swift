/// One participant as stored with its teleconsultation.
public struct Participant: Sendable, Equatable {
    public var userExternalId: String
    public var userBandyerId: String?
    /// Standalone mode only.
    public var groups: [String]?
    /// Standalone mode only.
    public var fullName: String?
    public var language: String?
    /// Exists only while a room exists.
    public var accessLinkURL: String?

    public init(userExternalId: String, userBandyerId: String? = nil, groups: [String]? = nil, fullName: String? = nil,
                language: String? = nil, accessLinkURL: String? = nil) {
        self.userExternalId = userExternalId
        self.userBandyerId = userBandyerId
        self.groups = groups
        self.fullName = fullName
        self.language = language
        self.accessLinkURL = accessLinkURL
    }

    /// The participant as a request would describe it (to ask for its identity again).
    public var input: ParticipantInput {
        ParticipantInput(userExternalId: userExternalId, groups: groups, fullName: fullName, language: language)
    }
}

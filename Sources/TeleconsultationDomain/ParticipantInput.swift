/// A participant as a request describes it.
public struct ParticipantInput: Sendable, Equatable {
    public var userExternalId: String
    public var groups: [String]?
    public var fullName: String?
    public var language: String?

    public init(userExternalId: String, groups: [String]? = nil, fullName: String? = nil, language: String? = nil) {
        self.userExternalId = userExternalId
        self.groups = groups
        self.fullName = fullName
        self.language = language
    }
}

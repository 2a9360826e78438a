/// What the use cases refuse, as values. The one error mapper turns each into the fixed
/// text and status the API promises; nothing here knows about HTTP.
public enum TeleconsultationError: Error, Sendable, Equatable {
    /// Unknown or trashed.
    case notFound(roomId: String)
    /// All participants known and the freeze time reached.
    case immutable(roomId: String)
    case alreadyComplete(roomId: String)
    case alreadyParticipant(userId: String, roomId: String)
    /// Conflicting concurrent changes went on past the retry budget.
    case changedConcurrently(roomId: String)
    /// The caller is absent, not a participant, or not allowed.
    case unauthorized
    /// A complete participant list without a plus user, on the route that was asked.
    case noPlusUser(NoPlusRoute)
    /// A participant with no group in the privileges.
    case noAllowedGroup(userId: String)
    /// A participant auth0-client does not know.
    case unknownDirectoryUser(userId: String)
    /// A custom user id the custom-id endpoint does not know.
    case unknownCustomUser(userId: String)

    public enum NoPlusRoute: Sendable, Equatable {
        case create
        case update
        case addParticipant(roomId: String)
    }
}

/// The user directory (auth0-client): auth0 mode, and identity at the edge.
public protocol UserDirectory: Sendable {
    /// The users among `ids` it knows (one call).
    func users(ids: [String], context: UpstreamContext) async throws -> [DirectoryUser]
    /// The user the request's cookie or bearer token belongs to; nil when not logged in.
    func currentUser(context: UpstreamContext) async throws -> DirectoryUser?
}

/// A user as auth0-client knows it.
public struct DirectoryUser: Sendable, Equatable {
    public var userId: String
    public var name: String?
    public var groups: [String]
    public init(userId: String, name: String?, groups: [String]) {
        self.userId = userId
        self.name = name
        self.groups = groups
    }
}

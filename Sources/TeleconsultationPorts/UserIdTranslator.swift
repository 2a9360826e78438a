/// Custom user ids (`CUSTOM_ID_USERS_API_ENDPOINT`): a CRUD-like collection that maps the
/// ids a deployment uses to auth0 user ids.
public protocol UserIdTranslator: Sendable {
    /// The auth0 id of each custom id it knows (one call).
    func auth0Ids(of customIds: [String], context: UpstreamContext) async throws -> [String: String]
    /// The custom id of an auth0 user, if any (the identity route, one call).
    func customId(of auth0Id: String, context: UpstreamContext) async throws -> String?
}

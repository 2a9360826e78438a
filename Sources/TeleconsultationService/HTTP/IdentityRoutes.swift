import HTTPTypes
import Responder
import StrictJSON
import TeleconsultationDomain
import TeleconsultationPorts

/// `GET /-/identity`: who the request's cookie or bearer token belongs to, for nginx's
/// `auth_request` in the edge profile (the route is internal to nginx there). 200 with the
/// user id and groups as response headers, which nginx turns into the gateway headers;
/// 401 when not logged in.
public struct IdentityRoutes: Sendable {
    /// auth0-client's `/userinfo`; nil when neither IDENTITY_SERVICE nor AUTH_SERVICE is set.
    let users: (any UserDirectory)?
    /// With custom user ids, the caller is named by its custom id.
    let translator: (any UserIdTranslator)?
    let clientTypeHeaderKey: String

    public static let userIdHeader = HTTPField.Name("x-identity-user-id")!
    public static let groupsHeader = HTTPField.Name("x-identity-user-groups")!

    public init(users: (any UserDirectory)?, translator: (any UserIdTranslator)? = nil, configuration: Configuration) {
        self.users = users
        self.translator = translator
        self.clientTypeHeaderKey = configuration.clientTypeHeaderKey
    }

    public func register(in router: inout Router<Handler>) {
        router.add(.get, "/-/identity") { c in
            guard let users else {
                c.logger.error("the identity route needs IDENTITY_SERVICE or AUTH_SERVICE (auth0-client)")
                return APIError(status: .serviceUnavailable, error: "Service Unavailable",
                                message: "identity at the edge is not configured").response
            }
            // Only the credentials go to auth0-client, whatever ADDITIONAL_HEADERS_TO_PROXY says.
            let fields = c.request.head.headerFields
            var credentials: [(String, String)] = []
            for name in ["cookie", "authorization"] {
                if let n = HTTPField.Name(name) { for v in fields[values: n] { credentials.append((name, v)) } }
            }
            guard !credentials.isEmpty else { throw TeleconsultationError.unauthorized }
            let context = UpstreamContext(requestId: c.requestId, proxiedHeaders: credentials,
                                          clientType: HTTPField.Name(clientTypeHeaderKey).flatMap { fields[$0] },
                                          deadline: c.deadline, compensationDeadline: c.compensationDeadline, logger: c.logger)
            guard var user = try await users.currentUser(context: context) else { throw TeleconsultationError.unauthorized }
            if let translator {
                // A logged-in user without a custom id is nobody the service knows.
                guard let custom = try await translator.customId(of: user.userId, context: context) else { throw TeleconsultationError.unauthorized }
                user.userId = custom
            }
            var response = Response.json(.ok, ["userId": .string(user.userId), "groups": .array(user.groups.map(JSONValue.string))])
            response.head.headerFields[Self.userIdHeader] = user.userId
            response.head.headerFields[Self.groupsHeader] = user.groups.joined(separator: ",")
            return response
        }
    }
}

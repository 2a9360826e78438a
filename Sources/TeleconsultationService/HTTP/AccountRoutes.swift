import HTTPTypes
import Responder
import StrictJSON
import TeleconsultationDomain
import TeleconsultationPorts

/// Routes about the caller rather than one teleconsultation: an SDK token for mobile apps,
/// and the company's call settings.
public struct AccountRoutes: Sendable {
    let useCases: Teleconsultations
    let callers: CallerIdentification
    let upstream: UpstreamContextFactory
    /// nil: Idempotency-Key is not honoured (unit tests of other routes).
    let idempotency: IdempotentRequests?

    public init(useCases: Teleconsultations, configuration: Configuration, idempotency: IdempotentRequests? = nil) {
        self.useCases = useCases
        self.callers = CallerIdentification(configuration: configuration)
        self.upstream = UpstreamContextFactory(configuration: configuration)
        self.idempotency = idempotency
    }

    /// Runs a creating route under the request's Idempotency-Key, if any.
    func idempotent(_ c: RequestContext, roomId: String?, _ handler: () async throws -> Response) async throws -> Response {
        guard let idempotency else { return try await handler() }
        return try await idempotency.run(c.request, route: "POST " + c.route, roomId: roomId, callerId: callers.caller(of: c),
                                         context: upstream.context(for: c), handler)
    }

    public func register(in router: inout Router<Handler>) {
        router.add(.post, "/credentials") { c in
            try await idempotent(c, roomId: nil) {
                let expiresIn = try BodyValidator.credentials(c.request.body)
                let context = upstream.context(for: c)
                let caller = callers.caller(of: c)
                let issued = try await useCases.credentials.run(callerId: caller, expiresIn: expiresIn, context: context)
                // Before the token leaves: with AUDIT_REQUIRED, no record, no token.
                try await useCases.audit?.recordIssuance(.credentials, teleconsultationId: nil, actor: caller, subject: caller, outcome: 201, context: context)
                // The token goes to the caller only: never into a log line.
                return .json(.created, ["accessToken": .string(issued.accessToken), "expiresAt": .string(issued.expiresAt.iso),
                                        "bandyerUserId": .string(issued.bandyerUserId)])
            }
        }
        router.add(.post, Self.backgroundImageRoute) { c in
            let stored = try await useCases.settings.uploadBackground(callerId: callers.caller(of: c), image: { try BackgroundUpload.image(from: c.request) },
                                                                      context: upstream.context(for: c))
            return .json(.ok, ["virtual_background": ["background_alias": .string(stored.alias), "url": stored.url,
                                                      "creation_date": stored.creationDate]])
        }
        router.add(.patch, "/settings/update") { c in
            let alias = try BodyValidator.settingsUpdate(try BodyValidator.parse(c.request.body, rootKeys: BodyValidator.settingsUpdateKeys))
            let company = try await useCases.settings.update(callerId: callers.caller(of: c), backgroundAlias: alias, context: upstream.context(for: c))
            return .json(.ok, ["company": Self.json(company)])
        }
    }

    /// The one route whose body may reach MAX_UPLOAD_BYTES.
    public static let backgroundImageRoute = "/settings/background-image"

    /// The company as the API shows it: the provider's fields that matter, null when not given.
    static func json(_ company: Company) -> JSONValue {
        let f = company.fields
        var background: JSONValue = .null
        if let b = f["default_background"]?.objectValue {
            background = ["alias": (b["alias"] ?? b["background_alias"]) ?? .null, "url": b["url"] ?? .null, "creation_date": b["creation_date"] ?? .null]
        }
        return .object(JSONObject(uniqueKeysWithValues: [
            ("name", f["name"] ?? .null), ("default_language", f["default_language"] ?? .null), ("default_background", background),
            ("end_call_redirect_url", f["end_call_redirect_url"] ?? .null), ("user_details_provider_url", f["user_details_provider_url"] ?? .null),
            ("end_call_redirect_timeout_ms", f["end_call_redirect_timeout_ms"] ?? .null),
        ]))
    }
}

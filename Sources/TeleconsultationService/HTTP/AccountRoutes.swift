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

    public init(useCases: Teleconsultations, configuration: Configuration) {
        self.useCases = useCases
        self.callers = CallerIdentification(configuration: configuration)
        self.upstream = UpstreamContextFactory(configuration: configuration)
    }

    public func register(in router: inout Router<Handler>) {
        router.add(.post, "/credentials") { c in
            let expiresIn = try BodyValidator.credentials(c.request.body)
            let issued = try await useCases.credentials.run(callerId: callers.caller(of: c), expiresIn: expiresIn, context: upstream.context(for: c))
            // The token goes to the caller only: never into a log line.
            return .json(.created, ["accessToken": .string(issued.accessToken), "expiresAt": .string(issued.expiresAt.iso),
                                    "bandyerUserId": .string(issued.bandyerUserId)])
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

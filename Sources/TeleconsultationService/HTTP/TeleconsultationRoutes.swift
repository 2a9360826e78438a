import HTTPTypes
import Responder
import StrictJSON
import TeleconsultationDomain
import TeleconsultationPorts

/// The teleconsultation routes: HTTP in, use case, HTTP out.
public struct TeleconsultationRoutes: Sendable {
    let useCases: Teleconsultations
    let callers: CallerIdentification
    let upstream: UpstreamContextFactory

    public init(useCases: Teleconsultations, configuration: Configuration) {
        self.useCases = useCases
        self.callers = CallerIdentification(configuration: configuration)
        self.upstream = UpstreamContextFactory(configuration: configuration)
    }

    public func register(in router: inout Router<Handler>) {
        let mode = useCases.mode
        router.add(.post, "/teleconsultation") { c in
            let input = try BodyValidator.creation(try BodyValidator.parse(c.request.body), mode: mode)
            let id = try await useCases.create.run(input, context: upstream.context(for: c))
            return .json(.created, ["roomId": .string(id)])
        }
        router.add(.patch, "/teleconsultation/:roomId") { c in
            let id = try roomId(c)
            let input = try BodyValidator.update(try BodyValidator.parse(c.request.body), mode: mode)
            try await useCases.update.run(roomId: id, input, context: upstream.context(for: c))
            return .empty(.noContent)
        }
        router.add(.post, "/teleconsultation/:roomId/participants/data") { c in
            let id = try roomId(c)
            let input = try BodyValidator.participant(try BodyValidator.parse(c.request.body), mode: mode)
            try await useCases.addParticipant.run(roomId: id, input, context: upstream.context(for: c))
            return .empty(.created)
        }
        router.add(.get, "/teleconsultation/:roomId") { c in
            let id = try roomId(c)
            let info = try await useCases.join.run(roomId: id, callerId: callers.caller(of: c), context: upstream.context(for: c))
            return .json(.ok, Self.json(info))
        }
        router.add(.delete, "/teleconsultation/:roomId") { c in
            let id = try roomId(c)
            try await useCases.delete.run(roomId: id, context: upstream.context(for: c))
            return .empty(.noContent)
        }
    }

    /// A CRUD `_id`, else 404 before any upstream call.
    func roomId(_ c: RequestContext) throws -> String {
        let id = c.parameters["roomId"] ?? ""
        guard Identifiers.isCRUDId(id) else { throw TeleconsultationError.notFound(roomId: id) }
        return id
    }

    static func json(_ info: JoinTeleconsultation.JoinInfo) -> JSONValue {
        [
            "bandyerUserId": .string(orNull: info.bandyerUserId),
            "accessLinkURL": .string(orNull: info.accessLinkURL),
            "participantsBandyerCall": .array(info.participants.map {
                ["bandyerUserId": .string(orNull: $0.bandyerUserId), "fullName": .string(orNull: $0.fullName)]
            }),
        ]
    }
}

/// What every upstream call of a request carries, from the request and the configuration.
struct UpstreamContextFactory: Sendable {
    let userIdHeaderKey: String
    let proxiedHeaders: [String]
    let clientTypeHeaderKey: String

    init(configuration: Configuration) {
        userIdHeaderKey = configuration.userIdHeaderKey
        proxiedHeaders = configuration.additionalHeadersToProxy
        clientTypeHeaderKey = configuration.clientTypeHeaderKey
    }

    func context(for c: RequestContext) -> UpstreamContext {
        let fields = c.request.head.headerFields
        var proxied: [(String, String)] = []
        for name in proxiedHeaders {
            guard let n = HTTPField.Name(name) else { continue }
            for value in fields[values: n] { proxied.append((name, value)) }
        }
        let userId = HTTPField.Name(userIdHeaderKey).flatMap { fields[$0] }.map { (userIdHeaderKey, $0) }
        return UpstreamContext(requestId: c.requestId, proxiedHeaders: proxied, userIdHeader: userId,
                               clientType: HTTPField.Name(clientTypeHeaderKey).flatMap { fields[$0] },
                               deadline: c.deadline, compensationDeadline: c.compensationDeadline, logger: c.logger)
    }
}

/// Finds the caller's id with `userIdPathInRequest` in `{"headers", "query", "params"}`.
struct CallerIdentification: Sendable {
    let steps: [CallerLocator.Step]

    init(configuration: Configuration) {
        steps = configuration.userIdPathInRequest.map {
            switch $0.from {
            case .object: return .object($0.extract)
            case .json: return .json($0.extract)
            case .array: return .array(Int($0.extract) ?? -1)
            }
        }
    }

    func caller(of c: RequestContext) -> String? {
        CallerLocator.locate(steps, in: root(c))
    }

    /// `{"headers": {lower-case name: value}, "query": {...}, "params": {...}}`; the first of
    /// repeated names wins.
    func root(_ c: RequestContext) -> JSONValue {
        var headers: [(String, JSONValue)] = []
        var seen = Set<String>()
        for f in c.request.head.headerFields where seen.insert(f.name.canonicalName).inserted {
            headers.append((f.name.canonicalName, .string(f.value)))
        }
        var params: [(String, JSONValue)] = []
        for (k, v) in c.parameters.sorted(by: { $0.key < $1.key }) { params.append((k, .string(v))) }
        return ["headers": .object(JSONObject(uniqueKeysWithValues: headers)),
                "query": .object(JSONObject(uniqueKeysWithValues: c.request.queryItems.map { ($0.key, JSONValue.string($0.value)) })),
                "params": .object(JSONObject(uniqueKeysWithValues: params))]
    }
}

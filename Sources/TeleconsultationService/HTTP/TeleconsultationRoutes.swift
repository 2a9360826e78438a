import HTTPTypes
import Responder
import StrictJSON
import TeleconsultationDomain

/// The five teleconsultation routes: HTTP in, use case, HTTP out.
public struct TeleconsultationRoutes: Sendable {
    let useCases: TeleconsultationUseCases
    let userIdHeaderKey: String
    let proxiedHeaders: [String]
    let callerPath: [CallerLocator.Step]

    public init(useCases: TeleconsultationUseCases, configuration: Configuration) {
        self.useCases = useCases
        self.userIdHeaderKey = configuration.userIdHeaderKey
        self.proxiedHeaders = configuration.additionalHeadersToProxy
        self.callerPath = configuration.userIdPathInRequest.map {
            switch $0.from {
            case .object: return .object($0.extract)
            case .json: return .json($0.extract)
            case .array: return .array(Int($0.extract) ?? -1)
            }
        }
    }

    public func register(in router: inout Router<Handler>) {
        router.add(.post, "/teleconsultation") { c in
            let input = try BodyValidator.creation(try BodyValidator.parse(c.request.body), mode: useCases.mode)
            let id = try await useCases.create(input, context: upstreamContext(c), logger: c.logger)
            return .json(.created, ["roomId": .string(id)])
        }
        router.add(.patch, "/teleconsultation/:roomId") { c in
            let id = try roomId(c)
            let input = try BodyValidator.update(try BodyValidator.parse(c.request.body), mode: useCases.mode)
            try await useCases.update(roomId: id, input, context: upstreamContext(c), logger: c.logger)
            return .empty(.noContent)
        }
        router.add(.post, "/teleconsultation/:roomId/participants/data") { c in
            let id = try roomId(c)
            let input = try BodyValidator.participant(try BodyValidator.parse(c.request.body), mode: useCases.mode)
            try await useCases.addParticipant(roomId: id, input, context: upstreamContext(c), logger: c.logger)
            return .empty(.created)
        }
        router.add(.get, "/teleconsultation/:roomId") { c in
            let id = try roomId(c)
            let caller = CallerLocator.locate(callerPath, in: callerRoot(c))
            let info = try await useCases.joinInfo(roomId: id, callerId: caller, context: upstreamContext(c))
            return .json(.ok, info.json)
        }
        router.add(.delete, "/teleconsultation/:roomId") { c in
            let id = try roomId(c)
            try await useCases.delete(roomId: id, context: upstreamContext(c), logger: c.logger)
            return .empty(.noContent)
        }
    }

    /// A CRUD `_id`, else 404 before any upstream call.
    func roomId(_ c: RequestContext) throws -> String {
        let id = c.parameters["roomId"] ?? ""
        guard Identifiers.isCRUDId(id) else { throw TeleconsultationUseCases.notFound(id) }
        return id
    }

    func upstreamContext(_ c: RequestContext) -> UpstreamContext {
        let fields = c.request.head.headerFields
        var proxied: [(String, String)] = []
        for name in proxiedHeaders {
            if let n = HTTPField.Name(name), let v = fields[n] { proxied.append((name, v)) }
        }
        let userId = HTTPField.Name(userIdHeaderKey).flatMap { fields[$0] }.map { (userIdHeaderKey, $0) }
        return UpstreamContext(requestId: c.requestId, proxiedHeaders: proxied, userIdHeader: userId,
                               clientType: HTTPField.Name("client-type").flatMap { fields[$0] }, deadline: c.deadline)
    }

    /// `{"headers": {lower-case name: value}, "query": {...}, "params": {...}}`.
    func callerRoot(_ c: RequestContext) -> JSONValue {
        var headers = JSONObject()
        for f in c.request.head.headerFields { headers[f.name.canonicalName] = .string(f.value) }
        var query = JSONObject()
        for pair in c.request.query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]).replacingPlus.removingPercentEncodingLossless
            let value = parts.count > 1 ? String(parts[1]).replacingPlus.removingPercentEncodingLossless : ""
            if query[key] == nil { query[key] = .string(value) }
        }
        var params = JSONObject()
        for (k, v) in c.parameters { params[k] = .string(v) }
        return ["headers": .object(headers), "query": .object(query), "params": .object(params)]
    }
}

extension String {
    var replacingPlus: String { contains("+") ? String(map { $0 == "+" ? " " : $0 }) : self }
}

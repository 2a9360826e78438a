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
            let input = try BodyValidator.creation(try BodyValidator.parse(c.request.body, rootKeys: BodyValidator.creationKeys), mode: mode)
            let id = try await useCases.create.run(input, context: upstream.context(for: c))
            return .json(.created, ["roomId": .string(id)])
        }
        router.add(.patch, "/teleconsultation/:roomId") { c in
            let id = try roomId(c)
            let input = try BodyValidator.update(try BodyValidator.parse(c.request.body, rootKeys: BodyValidator.creationKeys), mode: mode)
            try await useCases.update.run(roomId: id, input, context: upstream.context(for: c))
            return .empty(.noContent)
        }
        router.add(.post, "/teleconsultation/:roomId/participants/data") { c in
            let id = try roomId(c)
            let input = try BodyValidator.participant(try BodyValidator.parse(c.request.body, rootKeys: BodyValidator.participantKeys), mode: mode)
            try await useCases.addParticipant.run(roomId: id, input, context: upstream.context(for: c))
            return .empty(.created)
        }
        router.add(.get, "/teleconsultation/:roomId") { c in
            let id = try roomId(c)
            let query = try JoinQuery.parse(c.request.queryItems)
            let info = try await useCases.join.run(roomId: id, callerId: callers.caller(of: c), query: query, context: upstream.context(for: c))
            return .json(.ok, Self.json(info))
        }
        router.add(.delete, "/teleconsultation/:roomId") { c in
            let id = try roomId(c)
            try await useCases.delete.run(roomId: id, context: upstream.context(for: c))
            return .empty(.noContent)
        }
        router.add(.delete, "/teleconsultation/:roomId/uploads") { c in
            // Off: nothing to do, and nobody is asked.
            guard useCases.deleteUploads.enabled else { return .empty(.noContent) }
            let id = try roomId(c)
            let done = try await useCases.deleteUploads.run(roomId: id, callerId: callers.caller(of: c), context: upstream.context(for: c))
            return .json(.ok, ["total": .number(Double(done.total)), "deleted": .number(Double(done.deleted))])
        }
    }

    /// A CRUD `_id`, else 404 before any upstream call.
    func roomId(_ c: RequestContext) throws -> String {
        let id = c.parameters["roomId"] ?? ""
        guard Identifiers.isCRUDId(id) else { throw TeleconsultationError.notFound(roomId: id) }
        return id
    }

    static func json(_ info: JoinTeleconsultation.JoinInfo) -> JSONValue {
        var o = JSONObject([
            ("bandyerUserId", .string(orNull: info.bandyerUserId)),
            ("accessLinkURL", .string(orNull: info.accessLinkURL)),
            ("participantsBandyerCall", .array(info.participants.map {
                ["bandyerUserId": .string(orNull: $0.bandyerUserId), "fullName": .string(orNull: $0.fullName)]
            })),
        ])
        if case .some(let details) = info.details { o["details"] = details?.json ?? .null }
        return .object(o)
    }
}


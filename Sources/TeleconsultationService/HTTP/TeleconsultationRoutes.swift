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
        registerAudit(in: &router)
        let mode = useCases.mode
        router.add(.post, "/teleconsultation") { c in
            try await idempotent(c, roomId: nil) {
                let input = try BodyValidator.creation(try BodyValidator.parse(c.request.body, rootKeys: BodyValidator.creationKeys), mode: mode)
                let context = upstream.context(for: c)
                let id = try await useCases.create.run(input, context: context)
                await useCases.audit?.record(.create, teleconsultationId: id, actor: callers.caller(of: c), subject: nil, outcome: 201, context: context)
                return .json(.created, ["roomId": .string(id)])
            }
        }
        router.add(.patch, "/teleconsultation/:roomId") { c in
            let id = try roomId(c)
            let input = try BodyValidator.update(try BodyValidator.parse(c.request.body, rootKeys: BodyValidator.creationKeys), mode: mode)
            let context = upstream.context(for: c)
            try await useCases.update.run(roomId: id, input, context: context)
            await useCases.audit?.record(.update, teleconsultationId: id, actor: callers.caller(of: c), subject: nil, outcome: 204, context: context)
            return .empty(.noContent)
        }
        router.add(.post, "/teleconsultation/:roomId/participants/data") { c in
            let id = try roomId(c)
            return try await idempotent(c, roomId: id) {
                let input = try BodyValidator.participant(try BodyValidator.parse(c.request.body, rootKeys: BodyValidator.participantKeys), mode: mode)
                let context = upstream.context(for: c)
                try await useCases.addParticipant.run(roomId: id, input, context: context)
                await useCases.audit?.record(.participantsData, teleconsultationId: id, actor: callers.caller(of: c), subject: input.userExternalId,
                                             outcome: 201, context: context)
                return .empty(.created)
            }
        }
        router.add(.get, "/teleconsultation/:roomId") { c in
            let id = try roomId(c)
            let query = try JoinQuery.parse(c.request.queryItems)
            let context = upstream.context(for: c)
            let caller = callers.caller(of: c)
            let info = try await useCases.join.run(roomId: id, callerId: caller, query: query, context: context)
            if let audit = useCases.audit, info.accessLinkURL != nil, let caller {
                // Before the link leaves: with AUDIT_REQUIRED, no record, no link.
                try await audit.linkIssued(teleconsultationId: id, roomId: info.bandyerRoomId, actor: caller, subject: caller, outcome: 200, context: context)
            }
            var response = Response.json(.ok, Self.json(info))
            // While there is no link, how long a waiting room should wait before asking again.
            if info.accessLinkURL == nil { response.head.headerFields[.retryAfter] = String(info.window.retryAfterSeconds ?? JoinWindow.otherRetryAfter) }
            return response
        }
        router.add(.delete, "/teleconsultation/:roomId") { c in
            let id = try roomId(c)
            let context = upstream.context(for: c)
            try await useCases.delete.run(roomId: id, context: context)
            await useCases.audit?.record(.delete, teleconsultationId: id, actor: callers.caller(of: c), subject: nil, outcome: 204, context: context)
            return .empty(.noContent)
        }
        router.add(.delete, "/teleconsultation/:roomId/uploads") { c in
            // Off: nothing to do, and nobody is asked.
            guard useCases.deleteUploads.enabled else { return .empty(.noContent) }
            let id = try roomId(c)
            let context = upstream.context(for: c)
            let done = try await useCases.deleteUploads.run(roomId: id, callerId: callers.caller(of: c), context: context)
            await useCases.audit?.record(.deleteUploads, teleconsultationId: id, actor: callers.caller(of: c), subject: nil, outcome: 200, context: context)
            return .json(.ok, ["total": .number(Double(done.total)), "deleted": .number(Double(done.deleted))])
        }
    }

    func registerAudit(in router: inout Router<Handler>) {
        router.add(.get, "/teleconsultation/:roomId/audit") { c in
            guard let readAudit = useCases.readAudit else { throw APIError.fixed(.notFound, "The audit trail is not enabled") }
            let id = try roomId(c)
            let (limit, before) = try Self.auditQuery(c.request.queryItems)
            let page = try await readAudit.run(roomId: id, callerId: callers.caller(of: c), before: before, limit: limit, context: upstream.context(for: c))
            return .json(.ok, ["records": .array(page.records.map(Self.json)), "next": page.next.map { .string($0.iso) } ?? .null])
        }
    }

    /// `?limit=` 1–200 (default 50) and `&before=<at>`.
    static func auditQuery(_ items: [(key: String, value: String)]) throws(ValidationError) -> (limit: Int, before: Timestamp?) {
        var limit = 50
        var before: Timestamp?
        for (key, value) in items {
            switch key {
            case "limit":
                guard let n = Int(value), (1...200).contains(n) else { throw ValidationError("query/limit must be an integer between 1 and 200") }
                limit = n
            case "before":
                guard let t = Timestamp(iso: value) else { throw ValidationError("query/before must be a valid date-time YYYY-MM-DDTHH:mm:ss.sssZ") }
                before = t
            default: continue
            }
        }
        return (limit, before)
    }

    static func json(_ r: AuditRecord) -> JSONValue {
        .object(JSONObject([
            ("at", .string(r.at.iso)), ("action", .string(r.action.rawValue)), ("teleconsultationId", .string(orNull: r.teleconsultationId)),
            ("actor", .string(orNull: r.actor)), ("subject", .string(orNull: r.subject)), ("requestId", .string(r.requestId)),
            ("outcome", .number(Double(r.outcome))),
        ]))
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
            ("accessOpensAt", .string(info.window.opensAt.iso)),
            ("scheduledEndAt", .string(info.window.scheduledEndAt.iso)),
            // A link held back by the caller's own record (none stored for them) reads as the room's.
            ("accessLinkReason", info.accessLinkURL != nil ? .null : .string((info.window.reason ?? .roomUnavailable).rawValue)),
        ])
        if case .some(let details) = info.details { o["details"] = details?.json ?? .null }
        return .object(o)
    }
}


import StrictJSON
import TeleconsultationDomain
import TeleconsultationPorts

/// The video provider on Bandyer's REST API, in the dialect the configuration chose. Only
/// `apikey` and `x-request-id` go out: no proxied header ever reaches this third party.
public struct BandyerVideoProvider: VideoProvider {
    let http: UpstreamHTTP
    let baseURL: String
    let apiKey: String
    let timeout: Duration
    let dialect: any BandyerDialect
    static let upstream = "bandyer"

    public init(http: UpstreamHTTP, baseURL: String, apiKey: String, timeout: Duration) {
        self.http = http
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.timeout = timeout
        self.dialect = BandyerV1()
    }

    func call(_ operation: String, _ wire: WireCall, context: UpstreamContext) async throws -> UpstreamAnswer {
        try await http.call(Self.upstream, operation,
                            UpstreamRequest(method: wire.method, url: baseURL + wire.path, headers: [("apikey", apiKey)],
                                            body: wire.body.map { .json($0) }),
                            timeout: timeout, context: context)
    }

    /// An answer outside the contract. Bodies of calls whose answers can carry personal
    /// links are never logged; the others are, without the key.
    func unexpected(_ answer: UpstreamAnswer, _ operation: String, _ context: UpstreamContext, bodyMayCarryLinks: Bool = false) -> UpstreamError {
        http.unexpected(answer, Self.upstream, operation, context: context, logBody: !bodyMayCarryLinks, secrets: [apiKey])
    }

    func invalid(_ operation: String, _ what: String) -> UpstreamError {
        UpstreamError(upstream: Self.upstream, operation: operation, kind: .invalidResponse(what))
    }

    /// The answer of a call that succeeds with 200 or 201, as JSON.
    func created(_ operation: String, _ wire: WireCall, context: UpstreamContext, bodyMayCarryLinks: Bool = false) async throws -> JSONValue {
        let answer = try await call(operation, wire, context: context)
        guard answer.status == 200 || answer.status == 201 else {
            throw unexpected(answer, operation, context, bodyMayCarryLinks: bodyMayCarryLinks)
        }
        return try answer.json(Self.upstream, operation)
    }

    public func createUser(role: Role, context: UpstreamContext) async throws -> String {
        let v = try await created("create user", dialect.createUser(role: role), context: context)
        guard let id = dialect.userId(in: v), Identifiers.isProviderId(id) else { throw invalid("create user", "no valid user id") }
        return id
    }

    public func createRoom(_ plan: RoomPlan, context: UpstreamContext) async throws -> CreatedRoom {
        let v = try await created("create room", dialect.createRoom(plan), context: context, bodyMayCarryLinks: true)
        let (id, found) = dialect.room(in: v)
        guard let id, Identifiers.isProviderId(id) else { throw invalid("create room", "no valid room id") }
        var links: [String: String] = [:]
        for (user, url) in found where links[user] == nil && (url.hasPrefix("https://") || url.hasPrefix("http://")) {
            links[user] = url
        }
        return CreatedRoom(roomId: id, links: links)
    }

    public func deleteRoom(id: String, context: UpstreamContext) async throws {
        guard Identifiers.isProviderId(id) else { throw invalid("delete room", "not a provider id") }
        let answer = try await call("delete room", dialect.deleteRoom(id: id), context: context)
        // 404: already gone, which is what we wanted.
        guard [200, 204, 404].contains(answer.status) else { throw unexpected(answer, "delete room", context) }
    }
}

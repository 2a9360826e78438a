import StrictJSON
import TeleconsultationPorts

/// Custom user ids (`CUSTOM_ID_USERS_API_ENDPOINT`): a CRUD-like collection whose documents
/// carry a custom id (`source`) and the auth0 id (`target`). Headers as for the CRUD service.
public struct CustomIdUsersEndpoint: UserIdTranslator {
    let http: UpstreamHTTP
    /// The collection URL, e.g. `http://crud-service/users/`.
    let endpoint: String
    let source: String
    let target: String
    let timeout: Duration
    static let upstream = "custom-id"

    public init(http: UpstreamHTTP, endpoint: String, source: String, target: String, timeout: Duration) {
        self.http = http
        self.endpoint = endpoint
        self.source = source
        self.target = target
        self.timeout = timeout
    }

    func find(_ field: String, in values: [String], context: UpstreamContext) async throws -> [JSONValue] {
        let q: JSONValue = .object(JSONObject([(field, .object(JSONObject([("$in", .array(values.map(JSONValue.string)))])))]))
        let url = endpoint + (endpoint.contains("?") ? "&" : "?") + "_q=" + queryEncode(q.jsonString) + "&_l=200"
        let answer = try await http.call(Self.upstream, "find", UpstreamRequest(method: "GET", url: url, headers: context.crudHeaders),
                                         timeout: timeout, context: context)
        guard answer.status == 200 else { throw http.unexpected(answer, Self.upstream, "find", context: context) }
        guard let list = try answer.json(Self.upstream, "find").arrayValue else {
            throw UpstreamError(upstream: Self.upstream, operation: "find", kind: .invalidResponse("not an array"))
        }
        return list
    }

    public func auth0Ids(of customIds: [String], context: UpstreamContext) async throws -> [String: String] {
        if customIds.isEmpty { return [:] }
        var out: [String: String] = [:]
        for doc in try await find(source, in: customIds, context: context) {
            guard let custom = doc[source]?.stringValue, let auth0 = doc[target]?.stringValue, !auth0.isEmpty, out[custom] == nil else { continue }
            out[custom] = auth0
        }
        return out
    }

    public func customId(of auth0Id: String, context: UpstreamContext) async throws -> String? {
        try await find(target, in: [auth0Id], context: context).lazy.compactMap { $0[self.source]?.stringValue }.first
    }
}

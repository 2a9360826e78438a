import NIOHTTP1
import StrictJSON
import TeleconsultationService

/// The user directory on the platform's auth0-client service.
public struct Auth0UserDirectory: UserDirectory {
    let http: UpstreamHTTP
    let baseURL: String
    let defaultClientType: String?
    let timeout: Duration

    public init(http: UpstreamHTTP, baseURL: String, defaultClientType: String?, timeout: Duration) {
        self.http = http
        self.baseURL = baseURL
        self.defaultClientType = defaultClientType
        self.timeout = timeout
    }

    public func users(ids: [String], context: UpstreamContext) async throws -> [DirectoryUser] {
        if ids.isEmpty { return [] }
        let q: JSONValue = ["user_id": ["$in": .array(ids.map(JSONValue.string))]]
        var headers = context.proxiedHeaders.filter { $0.0 != "client-type" }
        // Without a client-type (incoming or default), none is sent.
        if let clientType = context.clientType ?? defaultClientType { headers.append(("client-type", clientType)) }
        let answer = try await http.call(upstream: "auth0", operation: "users", method: .GET,
                                         url: baseURL + "/users/?_q=" + queryEncode(q.jsonString),
                                         headers: headers, body: nil, timeout: timeout, context: context)
        guard answer.status == 200 else { throw UpstreamError(upstream: "auth0", operation: "users", kind: .status(answer.status)) }
        guard let list = try answer.json("auth0", "users").arrayValue else {
            throw UpstreamError(upstream: "auth0", operation: "users", kind: .invalidResponse("not an array"))
        }
        return list.compactMap { u in
            guard let id = u["user_id"]?.stringValue else { return nil }
            let groups = (u["groups"] ?? u["app_metadata"]?["groups"])?.arrayValue?.compactMap(\.stringValue) ?? []
            return DirectoryUser(userId: id, name: u["name"]?.stringValue, groups: groups)
        }
    }
}

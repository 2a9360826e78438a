import StrictJSON
import TeleconsultationPorts

/// The user directory on the platform's auth0-client service.
public struct Auth0UserDirectory: UserDirectory {
    let http: UpstreamHTTP
    let baseURL: String
    let defaultClientType: String?
    let clientTypeHeaderKey: String
    let timeout: Duration
    static let upstream = "auth0"

    public init(http: UpstreamHTTP, baseURL: String, defaultClientType: String?, clientTypeHeaderKey: String = "client-type", timeout: Duration) {
        self.http = http
        self.baseURL = baseURL
        self.defaultClientType = defaultClientType
        self.clientTypeHeaderKey = clientTypeHeaderKey
        self.timeout = timeout
    }

    func headers(_ context: UpstreamContext) -> [(String, String)] {
        var headers = context.proxiedHeaders.filter { $0.0 != clientTypeHeaderKey }
        // Without a client type (incoming or default), none is sent.
        if let clientType = context.clientType ?? defaultClientType { headers.append((clientTypeHeaderKey, clientType)) }
        return headers
    }

    public func users(ids: [String], context: UpstreamContext) async throws -> [DirectoryUser] {
        if ids.isEmpty { return [] }
        let q: JSONValue = ["user_id": ["$in": .array(ids.map(JSONValue.string))]]
        let request = UpstreamRequest(method: "GET", url: baseURL + "/users/?_q=" + queryEncode(q.jsonString), headers: headers(context))
        let answer = try await http.call(Self.upstream, "users", request, timeout: timeout, context: context)
        guard answer.status == 200 else { throw http.unexpected(answer, Self.upstream, "users", context: context) }
        guard let list = try answer.json(Self.upstream, "users").arrayValue else {
            throw UpstreamError(upstream: Self.upstream, operation: "users", kind: .invalidResponse("not an array"))
        }
        return list.compactMap(Self.user(from:))
    }

    public func currentUser(context: UpstreamContext) async throws -> DirectoryUser? {
        let request = UpstreamRequest(method: "GET", url: baseURL + "/userinfo", headers: headers(context))
        let answer = try await http.call(Self.upstream, "userinfo", request, timeout: timeout, context: context)
        if answer.status == 401 || answer.status == 403 { return nil }
        guard answer.status == 200 else { throw http.unexpected(answer, Self.upstream, "userinfo", context: context) }
        let v = try answer.json(Self.upstream, "userinfo")
        guard let sub = v["sub"]?.stringValue ?? v["user_id"]?.stringValue, !sub.isEmpty else {
            throw UpstreamError(upstream: Self.upstream, operation: "userinfo", kind: .invalidResponse("no sub"))
        }
        return DirectoryUser(userId: sub, name: v["name"]?.stringValue, groups: Self.groups(of: v))
    }

    static func user(from u: JSONValue) -> DirectoryUser? {
        guard let id = u["user_id"]?.stringValue else { return nil }
        return DirectoryUser(userId: id, name: u["name"]?.stringValue, groups: groups(of: u))
    }

    /// `groups` if present, else `app_metadata.groups`.
    static func groups(of u: JSONValue) -> [String] {
        (u["groups"] ?? u["app_metadata"]?["groups"])?.arrayValue?.compactMap(\.stringValue) ?? []
    }
}

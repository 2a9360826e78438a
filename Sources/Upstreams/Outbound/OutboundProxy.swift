/// An HTTP proxy that upstream calls go through (`HTTPS_PROXY`, `HTTP_PROXY`): the calls to
/// it are tunnelled with `CONNECT`, the credentials sent as `Proxy-Authorization`.
public struct OutboundProxy: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?

    public init(host: String, port: Int, username: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
    }
}

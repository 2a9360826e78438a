import Foundation

/// The proxies upstream calls go through: `HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http
/// URLs, except the hosts `NO_PROXY` names; each variable also in lower case, which wins when
/// both are set. Read from the process environment at start only: a request's `Proxy` header
/// (FastCGI param `HTTP_PROXY`, "httpoxy") never reaches this.
public struct OutboundProxies: Sendable, Equatable {
    /// One proxy: `http://[user[:password]@]host[:port]`.
    public struct Server: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var username: String?
        public var password: String?

        /// The proxy's URL with the credentials, if any, shown as `***` (for logs).
        public var description: String {
            let hostText = host.contains(":") ? "[\(host)]" : host
            return "http://\(username == nil ? "" : "***:***@")\(hostText):\(port)"
        }
    }

    /// A `NO_PROXY` entry.
    public enum Exception: Sendable, Equatable {
        /// `*`: no call goes through a proxy.
        case all
        /// A host name or address: itself and, for a name, every host under it (`.example.com` too).
        case host(String)
        /// `host:port`: as `host`, on that port only.
        case hostPort(String, Int)
    }

    public var https: Server?
    public var http: Server?
    public var exceptions: [Exception]

    public init(https: Server? = nil, http: Server? = nil, exceptions: [Exception] = []) {
        self.https = https
        self.http = http
        self.exceptions = exceptions
    }

    /// The variables read, lower case first (it wins).
    public static let keys = ["https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY"]

    /// Reads the variables; an empty one counts as unset. A proxy URL that cannot be used is a
    /// start-up error naming the variable (and never quoting its credentials).
    public static func load(environment env: [String: String], warnings: inout [String]) throws(ConfigurationError) -> OutboundProxies {
        func value(_ lower: String, _ upper: String) -> (key: String, value: String)? {
            let l = env[lower].flatMap { $0.isEmpty ? nil : $0 }
            let u = env[upper].flatMap { $0.isEmpty ? nil : $0 }
            if let l, let u, l != u { warnings.append("\(lower) and \(upper) differ: \(lower) is used") }
            if let l { return (lower, l) }
            return u.map { (upper, $0) }
        }
        var proxies = OutboundProxies()
        if let (key, text) = value("https_proxy", "HTTPS_PROXY") { proxies.https = try server(key, text) }
        if let (key, text) = value("http_proxy", "HTTP_PROXY") { proxies.http = try server(key, text) }
        if let (_, text) = value("no_proxy", "NO_PROXY") {
            for raw in text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }) {
                let entry = raw.lowercased()
                if entry == "*" { proxies.exceptions.append(.all); continue }
                if entry.contains("/") { warnings.append("NO_PROXY entry \(entry): address ranges are not understood, it matches no host") }
                proxies.exceptions.append(exception(entry))
            }
        }
        return proxies
    }

    /// The proxy for a call to `host:port` over `scheme` (`http` or `https`), nil for a direct one.
    public func proxy(scheme: String, host: String, port: Int) -> Server? {
        guard let server = scheme == "https" ? https : http else { return nil }
        let host = Self.bare(host.lowercased())
        for exception in exceptions {
            switch exception {
            case .all: return nil
            case .host(let name) where Self.matches(host, name): return nil
            case .hostPort(let name, let p) where p == port && Self.matches(host, name): return nil
            default: continue
            }
        }
        return server
    }

    /// How a call to `url` goes out: `direct`, or `via` the proxy (credentials hidden).
    public func route(for url: String) -> String {
        guard let u = URLComponents(string: url), let scheme = u.scheme?.lowercased(), let host = u.host else { return "direct" }
        let port = u.port ?? (scheme == "https" ? 443 : 80)
        return proxy(scheme: scheme, host: host, port: port).map { "via \($0)" } ?? "direct"
    }

    private static func matches(_ host: String, _ name: String) -> Bool {
        host == name || host.hasSuffix("." + name)
    }

    private static func bare(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    private static func exception(_ entry: String) -> Exception {
        var e = Substring(entry)
        if e.hasPrefix("*.") { e = e.dropFirst(2) } else if e.hasPrefix(".") { e = e.dropFirst() }
        // `[v6]:port`, `name:port`; a bare IPv6 address has more than one colon.
        if e.hasPrefix("["), let close = e.firstIndex(of: "]") {
            let host = String(e[e.index(after: e.startIndex)..<close])
            let rest = e[e.index(after: close)...]
            if rest.hasPrefix(":"), let port = Int(rest.dropFirst()) { return .hostPort(host, port) }
            return .host(host)
        }
        if e.filter({ $0 == ":" }).count == 1, let colon = e.firstIndex(of: ":"), let port = Int(e[e.index(after: colon)...]) {
            return .hostPort(String(e[..<colon]), port)
        }
        return .host(String(e))
    }

    private static func server(_ key: String, _ text: String) throws(ConfigurationError) -> Server {
        // Without a scheme, http:// is meant (as curl reads it).
        let withScheme = text.contains("://") ? text : "http://" + text
        guard let u = URLComponents(string: withScheme), let scheme = u.scheme?.lowercased(), let host = u.host, !host.isEmpty else {
            throw ConfigurationError(key: key, reason: "must be a proxy URL http://[user:password@]host[:port]")
        }
        guard scheme == "http" else {
            throw ConfigurationError(key: key, reason: "the proxy's scheme must be http (calls to https upstreams go through it with CONNECT), got \(scheme)")
        }
        guard u.path.isEmpty || u.path == "/", u.query == nil, u.fragment == nil else {
            throw ConfigurationError(key: key, reason: "a proxy URL has no path, query or fragment")
        }
        let port = u.port ?? 80
        guard (1...65_535).contains(port) else { throw ConfigurationError(key: key, reason: "the proxy's port must be 1 to 65535") }
        return Server(host: bare(host.lowercased()), port: port, username: u.user, password: u.password)
    }
}

import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The production transport: AsyncHTTPClient on the app's event loops (which are also the
/// Swift global executor here, so a call does not hop threads).
///
/// One `HTTPClient` per route (direct, or through one proxy: AsyncHTTPClient takes one proxy
/// per client), all on the same event loop group; the route of an origin is decided once.
/// HTTP/1.1 only, no redirects followed, no compression asked for, answers gathered whole up
/// to a limit. Header names and values are validated by AsyncHTTPClient before a connection
/// is asked for. A safe method (GET, HEAD, OPTIONS) whose connection the server closed before
/// answering is sent once more; any other method never is (see README, "Outbound HTTP").
public final class AsyncHTTPClientTransport: HTTPTransport {
    public struct Configuration: Sendable {
        /// Connections to one origin, open or opening (a soft limit: requests past it wait).
        public var maxConnectionsPerHost = 256
        public var connectTimeout: TimeAmount = .seconds(5)
        /// An idle connection is closed after this (on a timer), under the 5 s after which
        /// Node.js servers close idle keep-alive connections by default; sooner when the server
        /// announces less (`Keep-Alive: timeout=N`, see `KeepAliveTimeoutHandler`). A server
        /// that closes sooner still is noticed when its close arrives: the connection leaves the pool.
        public var idleTimeout: TimeAmount = .seconds(4)
        public var maxAnswerBytes = 4 << 20
        public var tls: TLSConfiguration = .makeClientConfiguration()
        /// The proxy for calls to an origin (scheme, host, port), nil for a direct connection.
        public var proxy: @Sendable (_ scheme: String, _ host: String, _ port: Int) -> OutboundProxy? = { _, _, _ in nil }

        public init() {}
    }

    private let configuration: Configuration
    private let group: any EventLoopGroup
    private struct Routes {
        /// One client per proxy (nil: direct), made when first needed.
        var clients: [OutboundProxy?: HTTPClient] = [:]
        var byOrigin: [UpstreamURL.Origin: HTTPClient] = [:]
        var shutDown = false
    }
    private let routes = Mutex(Routes())

    public init(configuration: Configuration = Configuration(), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
    }

    public func send(_ request: UpstreamRequest, timeout: Duration) async throws(TransportError) -> UpstreamAnswer {
        let url: UpstreamURL
        do { url = try UpstreamURL(request.url) } catch { throw .unreachable(error.description) }
        guard let client = client(for: url.origin) else { throw .unreachable("the HTTP client is shut down") }

        var r = HTTPClientRequest(url: request.url)
        r.method = HTTPMethod(rawValue: request.method)
        r.headers.reserveCapacity(request.headers.count + 1)
        for (name, value) in request.headers {
            // AsyncHTTPClient checks every name is made of token characters and every value
            // has no control character, but lets an empty name through (": value" would be sent).
            guard !name.isEmpty else { throw .unreachable("refused before sending: a header name is not a token") }
            r.headers.add(name: name, value: value)
        }
        switch request.body {
        case .json(let value)?:
            r.headers.add(name: "content-type", value: "application/json")
            r.body = .bytes(ByteBuffer(bytes: value.jsonBytes))
        case .bytes(let buffer, let contentType)?:
            r.headers.add(name: "content-type", value: contentType)
            r.body = .bytes(buffer)
        case nil:
            break
        }
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        var sentAgain = false
        while true {
            do {
                let response = try await client.execute(r, deadline: deadline)
                var buffer = try await response.body.collect(upTo: configuration.maxAnswerBytes)
                return UpstreamAnswer(status: Int(response.status.code), body: buffer.readBytes(length: buffer.readableBytes) ?? [])
            } catch {
                // The server closed the connection before answering (it may have read the
                // request): only a safe method may be sent again, once, on a new connection.
                if !sentAgain && Self.isSafe(r.method) && Self.closedBeforeAnswer(error) && NIODeadline.now() < deadline {
                    sentAgain = true
                    continue
                }
                throw Self.transportError(error, url.origin)
            }
        }
    }

    /// Closes the connections of every route (call once no request is sent any more). The
    /// service and the sweep do not call it: they exit, which closes the connections.
    /// AsyncHTTPClient says it is done on a Dispatch queue, whose worker thread asks for a
    /// priority the units' sandbox refuses, and libdispatch writes that refusal to the journal
    /// as a line that is not JSON (the deploy test checks the journal).
    public func shutdown() async {
        let clients = routes.withLock { routes in
            routes.shutDown = true
            let all = Array(routes.clients.values)
            routes.clients = [:]
            routes.byOrigin = [:]
            return all
        }
        for client in clients { try? await client.shutdown() }
    }

    private func client(for origin: UpstreamURL.Origin) -> HTTPClient? {
        routes.withLock { routes in
            if let client = routes.byOrigin[origin] { return client }
            guard !routes.shutDown else { return nil }
            let proxy = configuration.proxy(origin.tls ? "https" : "http", origin.host, origin.port)
            let client = routes.clients[proxy] ?? makeClient(proxy)
            routes.clients[proxy] = client
            routes.byOrigin[origin] = client
            return client
        }
    }

    private func makeClient(_ proxy: OutboundProxy?) -> HTTPClient {
        var c = HTTPClient.Configuration()
        c.tlsConfiguration = configuration.tls
        c.httpVersion = .http1Only
        c.redirectConfiguration = .disallow
        c.decompression = .disabled
        c.timeout = .init(connect: configuration.connectTimeout)
        c.connectionPool = .init(idleTimeout: configuration.idleTimeout,
                                 concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maxConnectionsPerHost)
        // A refused connection is an answer (502 at once), not a reason to retry until the deadline (504).
        c.connectionPool.retryConnectionEstablishment = false
        // A server's `Keep-Alive: timeout=N` is honoured: its idle connections are closed first.
        c.http1_1ConnectionDebugInitializer = { channel in KeepAliveTimeoutHandler.install(on: channel) }
        if let proxy {
            let authorization = proxy.username.map { HTTPClient.Authorization.basic(username: $0, password: proxy.password ?? "") }
            c.proxy = .server(host: proxy.host, port: proxy.port, authorization: authorization)
        }
        return HTTPClient(eventLoopGroup: group, configuration: c)
    }

    private static func isSafe(_ method: HTTPMethod) -> Bool {
        method == .GET || method == .HEAD || method == .OPTIONS
    }

    private static func closedBeforeAnswer(_ error: any Error) -> Bool {
        if let e = error as? HTTPClientError { return e == .remoteConnectionClosed }
        if let e = error as? IOError { return e.errnoCode == ECONNRESET || e.errnoCode == EPIPE }
        if let e = error as? ChannelError { return e == .ioOnClosedChannel || e == .outputClosed }
        return false
    }

    /// What went wrong, as the adapters know it: a timeout (→ 504) apart from the rest (→ 502),
    /// with a reason that names the cause (never a header value: it may hold a secret).
    static func transportError(_ error: any Error, _ origin: UpstreamURL.Origin) -> TransportError {
        let target = "\(origin.host):\(origin.port)"
        switch error {
        case let e as HTTPClientError:
            switch e {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .cancelled, .getConnectionFromPoolTimeout, .connectTimeout,
                 .tlsHandshakeTimeout, .httpProxyHandshakeTimeout:
                return .timeout
            case .remoteConnectionClosed:
                return .unreachable("\(target) closed the connection before answering")
            case .proxyAuthenticationRequired:
                return .unreachable("the proxy for \(target) refused its credentials (407)")
            case .invalidProxyResponse:
                return .unreachable("the proxy for \(target) refused the tunnel")
            default:
                // The values of these errors are the offending headers: a value may hold a secret.
                if e.shortDescription == HTTPClientError.invalidHeaderFieldNames([]).shortDescription {
                    return .unreachable("refused before sending: a header name is not a token")
                }
                if e.shortDescription == HTTPClientError.invalidHeaderFieldValues([]).shortDescription {
                    return .unreachable("refused before sending: a header value has a control character")
                }
                return .unreachable("\(target): \(e.shortDescription)")
            }
        case is CancellationError:
            return .timeout
        case is NIOTooManyBytesError:
            return .bodyTooLarge
        case let e as NIOSSLExtraError where e == .failedToValidateHostname:
            return .unreachable("TLS: the certificate of \(target) is not valid for \(origin.host) (refused)")
        case let e as NIOSSLError:
            let text = "\(e)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") {
                return .unreachable("TLS: the certificate of \(target) is not trusted (refused): \(text)")
            }
            return .unreachable("TLS with \(target) failed: \(text)")
        case let e as NIOConnectionError:
            if let first = e.connectionErrors.first { return .unreachable("cannot connect to \(target) (\(first.error))") }
            if let dns = e.dnsAError ?? e.dnsAAAAError { return .unreachable("cannot connect to \(target) (name resolution: \(dns))") }
            return .unreachable("cannot connect to \(target) (no address)")
        case ChannelError.connectTimeout:
            return .timeout
        case let e as IOError where e.errnoCode == ECONNREFUSED || e.errnoCode == EHOSTUNREACH || e.errnoCode == ENETUNREACH:
            return .unreachable("cannot connect to \(target) (\(String(cString: strerror(e.errnoCode))))")
        default:
            return .unreachable("\(target): \(error)")
        }
    }
}

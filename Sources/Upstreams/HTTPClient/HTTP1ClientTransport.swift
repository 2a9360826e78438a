import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The production transport: HTTP/1.1 with keep-alive over SwiftNIO, TLS by swift-nio-ssl.
///
/// Each event loop has its own pools, and a request is carried by the loop its task runs on
/// (the event loops are the global executor): no lock is shared between loops and no answer
/// hops threads. It does what the upstream calls need and no more: no redirects, no
/// compression, no proxy, answers gathered whole up to a limit. See docs/PERFORMANCE.md for
/// why this replaced AsyncHTTPClient.
public final class HTTP1ClientTransport: HTTPTransport {
    public struct Configuration: Sendable {
        /// Connections to one origin, open or opening, over all event loops.
        public var maxConnectionsPerHost = 256
        public var connectTimeout: TimeAmount = .seconds(5)
        /// An idle connection older than this is not reused (under the 5 s after which
        /// Node.js servers close idle keep-alive connections by default).
        public var idleTimeout: TimeAmount = .seconds(4)
        public var maxAnswerBytes = 4 << 20
        public var tls: TLSConfiguration = .makeClientConfiguration()

        public init() {}
    }

    private let group: MultiThreadedEventLoopGroup
    /// One entry per event loop of the group, made at start and never changed.
    private let loops: [ObjectIdentifier: LoopPools]

    public init(configuration: Configuration = Configuration(), group: MultiThreadedEventLoopGroup = .singleton) {
        self.group = group
        let members = Array(group.makeIterator())
        let settings = HTTP1OriginPool.Settings(
            limit: max(1, configuration.maxConnectionsPerHost / max(1, members.count)), connectTimeout: configuration.connectTimeout,
            idleTimeout: configuration.idleTimeout, maxAnswerBytes: configuration.maxAnswerBytes,
            tls: Result { try NIOSSLContext(configuration: configuration.tls) })
        var loops: [ObjectIdentifier: LoopPools] = [:]
        for loop in members { loops[ObjectIdentifier(loop)] = LoopPools(loop: loop, settings: settings) }
        self.loops = loops
    }

    public func send(_ request: UpstreamRequest, timeout: Duration) async throws(TransportError) -> UpstreamAnswer {
        let url: UpstreamURL
        do { url = try UpstreamURL(request.url) } catch { throw .unreachable(error.description) }
        let pools = pools()
        let loop = pools.loop

        var headers = HTTPHeaders()
        headers.reserveCapacity(request.headers.count + 3)
        headers.add(name: "host", value: url.hostHeader)
        for (name, value) in request.headers {
            // A name that is not a token, or a CR, LF or NUL in a value, would split or garble
            // the request (inbound values never have them: HTTPTypes replaces them; this guards
            // what configuration or a bug could bring). Refused before anything is sent.
            guard Self.isToken(name) else { throw .unreachable("header name \(name.debugDescription) is not a token") }
            guard Self.isSafe(value) else { throw .unreachable("header \(name) has a control character") }
            headers.add(name: name, value: value)
        }
        let method = HTTPMethod(rawValue: request.method)
        var body: ByteBuffer?
        switch request.body {
        case .json(let value)?:
            headers.add(name: "content-type", value: "application/json")
            body = ByteBuffer(bytes: value.jsonBytes)
        case .bytes(let buffer, let contentType)?:
            headers.add(name: "content-type", value: contentType)
            body = buffer
        case nil:
            break
        }
        if let body {
            headers.add(name: "content-length", value: String(body.readableBytes))
        } else if method == .POST || method == .PUT || method == .PATCH {
            headers.add(name: "content-length", value: "0")
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: url.target, headers: headers)
        let exchange = HTTP1Exchange(head: head, body: body, deadline: loop.now + TimeAmount(timeout))
        let origin = url.origin
        do {
            return try await withTaskCancellationHandler {
                try await withUnsafeThrowingContinuation { continuation in
                    if loop.inEventLoop {
                        if exchange.attach(continuation) { pools.pool(for: origin).execute(exchange) }
                    } else {
                        loop.execute { if exchange.attach(continuation) { pools.pool(for: origin).execute(exchange) } }
                    }
                }
            } onCancel: {
                // Cancelled (the request's drain deadline): given up like a timeout.
                loop.execute { pools.pool(for: origin).giveUp(exchange, .timeout) }
            }
        } catch let error as TransportError {
            throw error
        } catch {
            throw .unreachable("\(error)")
        }
    }

    /// Closes the idle connections on every loop (call once no request is sent any more).
    public func shutdown() async {
        for pools in loops.values {
            try? await pools.loop.submit { pools.shutdown() }.get()
        }
    }

    private static func isSafe(_ s: String) -> Bool {
        !s.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
    }

    /// RFC 9110's `token`: one or more of ALPHA, DIGIT and ``!#$%&'*+-.^_`|~``.
    private static func isToken(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { b in
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
                 UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
                 UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
                return true
            default:
                return false
            }
        }
    }

    /// The pools of the loop this task runs on, else of the next loop.
    private func pools() -> LoopPools {
        if let current = MultiThreadedEventLoopGroup.currentEventLoop, let pools = loops[ObjectIdentifier(current)] { return pools }
        return loops[ObjectIdentifier(group.next())]!
    }
}

/// One event loop's pools, one per origin. Used on its loop only (`@unchecked Sendable`).
final class LoopPools: @unchecked Sendable {
    let loop: any EventLoop
    private let settings: HTTP1OriginPool.Settings
    private var pools: [UpstreamURL.Origin: HTTP1OriginPool] = [:]

    init(loop: any EventLoop, settings: HTTP1OriginPool.Settings) {
        self.loop = loop
        self.settings = settings
    }

    func pool(for origin: UpstreamURL.Origin) -> HTTP1OriginPool {
        if let pool = pools[origin] { return pool }
        let pool = HTTP1OriginPool(loop: loop, origin: origin, settings: settings)
        pools[origin] = pool
        return pool
    }

    func shutdown() {
        for pool in pools.values { pool.shutdown() }
    }
}

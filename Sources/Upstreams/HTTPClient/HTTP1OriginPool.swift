import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The connections from one event loop to one origin: carries out what `HTTP1PoolState`
/// decides (opening connections, handing them to exchanges, closing them) and keeps every
/// exchange's deadline.
///
/// Lives on its event loop: every member is used there only, hence `@unchecked Sendable`.
final class HTTP1OriginPool: @unchecked Sendable {
    struct Settings {
        var limit: Int
        var connectTimeout: TimeAmount
        var idleTimeout: TimeAmount
        var maxAnswerBytes: Int
        var tls: Result<NIOSSLContext, any Error>
    }

    private let loop: any EventLoop
    private let origin: UpstreamURL.Origin
    private let settings: Settings
    private var state: HTTP1PoolState<HTTP1Connection, HTTP1Exchange>
    private var shuttingDown = false

    init(loop: any EventLoop, origin: UpstreamURL.Origin, settings: Settings) {
        self.loop = loop
        self.origin = origin
        self.settings = settings
        state = HTTP1PoolState(limit: settings.limit, idleTimeout: settings.idleTimeout)
    }

    /// Starts an exchange: it gets a connection or waits for one. Its deadline is kept by the
    /// connection's one timer once it has one, by the connect timeout while one is opened, and
    /// by a timer of its own only while it waits (the rare case).
    func execute(_ exchange: HTTP1Exchange) {
        lease(for: exchange, fresh: false)
    }

    /// The exchange stops waiting: its deadline passed or its task was cancelled.
    func giveUp(_ exchange: HTTP1Exchange, _ error: TransportError) {
        guard !exchange.finished else { return }
        if let connection = exchange.connection {
            connection.abandon()
        } else {
            state.cancel(exchange)
        }
        exchange.fail(error)
    }

    /// A reused connection died before answering (or on the way to the exchange): the
    /// exchange goes again on a new connection.
    func retry(_ exchange: HTTP1Exchange, after connection: HTTP1Connection) {
        act(state.closed(connection))
        guard !exchange.finished else { return }
        lease(for: exchange, fresh: true)
    }

    func released(_ connection: HTTP1Connection, reusable: Bool) {
        act(state.released(connection, reusable: reusable && !shuttingDown, now: loop.now))
    }

    func closed(_ connection: HTTP1Connection) {
        act(state.closed(connection))
    }

    /// Closes the idle connections; the busy ones close after their answer.
    func shutdown() {
        shuttingDown = true
        for connection in state.drainIdle() { connection.close() }
    }

    private func lease(for exchange: HTTP1Exchange, fresh: Bool) {
        let (lease, expired) = state.lease(for: exchange, fresh: fresh, now: loop.now)
        for connection in expired { connection.close() }
        switch lease {
        case .reuse(let connection): connection.start(exchange)
        case .connect: connect(for: exchange)
        case .wait:
            exchange.timer = loop.assumeIsolated().scheduleTask(deadline: exchange.deadline) { [self] in
                giveUp(exchange, .timeout)
            }
        }
    }

    private func act(_ next: HTTP1PoolState<HTTP1Connection, HTTP1Exchange>.Next) {
        switch next {
        case .nothing:
            break
        case .serve(let exchange, let connection):
            exchange.stopWaiting()
            connection.start(exchange)
        case .connect(let exchange):
            exchange.stopWaiting()
            connect(for: exchange)
        case .close(let connection):
            connection.close()
        }
    }

    private func connect(for exchange: HTTP1Exchange) {
        let origin = self.origin
        let settings = self.settings
        let timeout = min(settings.connectTimeout, max(.milliseconds(1), exchange.deadline - loop.now))
        let sslContext: NIOSSLContext?
        if origin.tls {
            switch settings.tls {
            case .success(let context): sslContext = context
            case .failure(let error):
                act(state.connectFailed())
                return exchange.fail(.unreachable("TLS is not available: \(error)"))
            }
        } else {
            sslContext = nil
        }
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            // TCP_NODELAY is ClientBootstrap's default.
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let sslContext {
                        // No SNI for an address; the certificate is still checked against it.
                        let name = Self.isAddress(origin.host) ? nil : origin.host
                        try sync.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: name))
                    }
                    // Header values are checked once, in `HTTP1ClientTransport.send` (cheaper than NIO's
                    // validator on every write).
                    try sync.addHTTPClientHandlers(enableOutboundHeaderValidation: false)
                    try sync.addHandler(HTTP1Connection(pool: self, maxAnswerBytes: settings.maxAnswerBytes))
                }
            }
            .connect(host: origin.host, port: origin.port)
            .assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    guard let connection = try? channel.pipeline.syncOperations.handler(type: HTTP1Connection.self) else {
                        channel.close(promise: nil)
                        act(state.connectFailed())
                        return exchange.fail(.unreachable("connection setup failed"))
                    }
                    state.connected(connection)
                    if exchange.finished {
                        // Its exchange gave up meanwhile: the connection serves the next one.
                        released(connection, reusable: true)
                    } else {
                        connection.start(exchange)
                    }
                case .failure(let error):
                    act(state.connectFailed())
                    if case ChannelError.connectTimeout = error {
                        exchange.fail(.timeout)
                    } else {
                        exchange.fail(.unreachable("cannot connect to \(origin.host):\(origin.port) (\(Self.reason(error)))"))
                    }
                }
            }
    }

    private static func isAddress(_ host: String) -> Bool {
        host.contains(":") || host.allSatisfy { $0 == "." || ($0.isASCII && $0.isNumber) }
    }

    /// The cause of a failed connect, without the whole structure NIO reports.
    private static func reason(_ error: any Error) -> String {
        if let e = error as? NIOConnectionError {
            if let first = e.connectionErrors.first { return "\(first.error)" }
            if let dns = e.dnsAError ?? e.dnsAAAAError { return "name resolution: \(dns)" }
            return "no address"
        }
        return "\(error)"
    }
}

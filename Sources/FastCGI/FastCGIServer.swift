import Glibc
import HTTPTypes
import Logging
import NIOCore
import NIOPosix
import Responder
import ServiceLifecycle
import Synchronization

/// Limits of the FastCGI transport.
public struct FastCGIServerConfiguration: Sendable {
    /// Largest body accepted; larger ones are answered 413 by the application.
    public var maxBodyBytes: Int = 1 << 20
    /// The largest body for one request, from its head (a route may take more than
    /// `maxBodyBytes`); nil: `maxBodyBytes` for every request.
    public var bodyLimit: (@Sendable (HTTPRequest) -> Int)?
    /// Connections served at once; past this, as many again wait accepted, then the kernel backlog.
    public var maxInFlight: Int = 1024
    /// Connections the kernel holds for us before we accept them (capped by net.core.somaxconn).
    public var backlog: Int = 4096
    /// Deadline for a peer to deliver a request (and to take the response).
    public var ioTimeoutMilliseconds: Int = 5_000
    /// How long a kept connection (FCGI_KEEP_CONN) may wait for its next request: longer than
    /// the web server keeps idle connections, so it is always the one that closes them.
    public var idleTimeoutMilliseconds: Int = 75_000
    /// When the server stops, how long a kept connection stays open for the web server to
    /// close it (it is serving requests meanwhile); then the server closes it.
    public var drainGraceMilliseconds: Int = 1_500
    /// How long the drain may take once shutdown begins; past it the requests in flight are
    /// abandoned (logged, their connections closed unanswered). nil: no limit.
    public var shutdownTimeout: Duration?
    /// How the drain deadline waits (a clock of the caller's choosing).
    public var sleep: @Sendable (Duration) async throws -> Void = { try await ContinuousClock().sleep(for: $0) }
    /// Params, beyond those that make the request's head, handed to the responder as the
    /// request's `serverVariables` (a secret the web server proves itself with, say). Names
    /// starting with `HTTP_` are a client's headers, never server variables: they are ignored.
    public var passedParams: [String] = []

    public init() {}
}

/// What went wrong before a request could reach the application.
public enum TransportFailure: Sendable, Equatable {
    case bodyTooLarge(limit: Int)
    case malformedRequest(String)
}

/// The application's answers to transport-level failures, so that the one place that
/// maps errors to HTTP stays in the application.
public protocol TransportFailureResponder: Sendable {
    func respond(to failure: TransportFailure, head: HTTPRequest?) async -> Response
}

/// The FastCGI responder server, a service of swift-service-lifecycle.
///
/// It adopts a listening socket (made by `ListenSocket` or handed over by systemd) on
/// SwiftNIO's event loops; each connection is served by a child task of one task group, which
/// reads its requests, asks the responder and writes the answers. On graceful shutdown it
/// stops accepting, closes idle kept connections and lets the requests in flight finish: the
/// group is awaited. If the service group's shutdown deadline cancels it first, the requests
/// still in flight are logged and abandoned (their connections closed unanswered): `run()`
/// throws `AbandonedRequests`, and `abandonedRequests` names them.
public final class FastCGIServer: Service {
    private let listenFD: Int32
    private let configuration: FastCGIServerConfiguration
    private let responder: any Responder
    private let failureResponder: any TransportFailureResponder
    private let logger: Logger
    private let onGracefulShutdown: @Sendable () -> Void
    private let connections = OpenConnections()
    private let abandoned = AbandonedList()

    /// The requests the drain deadline abandoned (the service group does not pass on an error
    /// thrown while it cancels, so the caller asks).
    public var abandonedRequests: [String] { abandoned.requests }

    /// The drain deadline passed with requests still in flight.
    public struct AbandonedRequests: Error, CustomStringConvertible {
        public let requests: [String]
        public var description: String { "\(requests.count) request(s) abandoned at shutdown" }
    }

    /// `onGracefulShutdown`: called once when shutdown begins (readiness turns 503).
    public init(listenFD: Int32, configuration: FastCGIServerConfiguration, responder: any Responder,
                failureResponder: any TransportFailureResponder, logger: Logger, onGracefulShutdown: @escaping @Sendable () -> Void = {}) {
        self.listenFD = listenFD
        self.configuration = configuration
        self.responder = responder
        self.failureResponder = failureResponder
        self.logger = logger
        self.onGracefulShutdown = onGracefulShutdown
    }

    public func run() async throws {
        let maxBody = configuration.maxBodyBytes
        let limits = FastCGIConnectionLimits(
            bodyLimit: configuration.bodyLimit ?? { _ in maxBody }, ioTimeout: .milliseconds(Int64(configuration.ioTimeoutMilliseconds)),
            idleTimeout: .milliseconds(Int64(configuration.idleTimeoutMilliseconds)),
            drainGrace: .milliseconds(Int64(configuration.drainGraceMilliseconds)),
            passedParams: configuration.passedParams.filter { !$0.hasPrefix("HTTP_") }.map { Array($0.utf8) })
        let connections = self.connections
        let gate = AcceptGate()
        let maxInFlight = max(1, configuration.maxInFlight)
        let server = try await ServerBootstrap(group: NIOSingletons.posixEventLoopGroup)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(AcceptCounter(gate: gate)) }
            }
            .serverChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            // TCP_NODELAY at the TCP level (NIO skips it on unix sockets). Not socketOption(.tcp_nodelay):
            // that is SOL_SOCKET with the same number, SO_DEBUG, which only root may set.
            .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            // A burst of connections (the web server opens one per request) is taken off the
            // backlog at once and waits here for a slot, instead of overflowing the backlog
            // (a web server's connect() then fails with EAGAIN).
            .bind(NIOBSDSocket.Handle(listenFD), serverBackPressureStrategy: .init(lowWatermark: max(1, maxInFlight / 4), highWatermark: maxInFlight)) { [logger] channel in
                channel.eventLoop.makeCompletedFuture {
                    let connection = FastCGIConnection(eventLoop: channel.eventLoop)
                    do {
                        try channel.pipeline.syncOperations.addHandlers(FastCGIRequestAssembler(limits: limits), connection)
                    } catch {
                        // One connection that cannot be set up is closed; a failed initializer
                        // would end the accept loop for every connection after it.
                        logger.warning("a connection could not be set up", metadata: ["error": .string(String(describing: error))])
                        connection.abandon()
                        channel.close(promise: nil)
                        return connection
                    }
                    connections.opened(connection)
                    channel.closeFuture.whenComplete { _ in connections.closed(connection) }
                    return connection
                }
            }
        // NIO listens again on the socket it adopts, with its default backlog (128) and before
        // any option applies: that would replace the backlog the socket was made with (ours or
        // systemd's Backlog=), and a burst of connections would overflow it. Listening once
        // more sets it back.
        guard listen(listenFD, Int32(clamping: configuration.backlog)) == 0 else {
            let e = errno
            try? await server.channel.close()
            throw ListenSocket.OpenError(description: "listen(backlog: \(configuration.backlog)): \(String(cString: strerror(e)))")
        }
        let slots = ConnectionSlots(maxInFlight)
        let logger = self.logger
        let abandoned = self.abandoned
        let acceptFailure = AcceptFailure()
        let drainTimeout = configuration.shutdownTimeout
        let sleep = configuration.sleep
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { phases in
                // Serving, until the drain is over.
                phases.addTask {
                    await withGracefulShutdownHandler {
                        await withDiscardingTaskGroup { group in
                            do {
                                try await server.executeThenClose { inbound in
                                    for try await connection in inbound {
                                        // Past the limit, connections wait for a slot (and then in the kernel backlog).
                                        if !slots.tryAcquire() { await slots.acquire() }
                                        group.addTask {
                                            await self.serve(connection)
                                            slots.release()
                                        }
                                        if gate.received() { server.channel.close(promise: nil) }
                                    }
                                }
                            } catch {
                                if gate.isStopped {
                                    logger.debug("accepting ended", metadata: ["error": .string(String(describing: error))])
                                } else {
                                    // The listening socket itself failed: the process stops (and systemd
                                    // restarts it), after the requests in flight.
                                    logger.error("accepting failed", metadata: ["error": .string(String(describing: error))])
                                    acceptFailure.record(error)
                                }
                            }
                        }
                    } onGracefulShutdown: {
                        self.onGracefulShutdown()
                        logger.info("shutting down", metadata: ["inFlight": .stringConvertible(connections.inFlight().count)])
                        // Stop accepting: no accept() any more (what waits in the kernel backlog is for the
                        // next instance: the socket stays with whoever handed it over); the connections
                        // accepted already are served, and then the listening channel closes.
                        let channel = server.channel
                        channel.eventLoop.execute {
                            _ = channel.setOption(ChannelOptions.autoRead, value: false)
                            if gate.stop() { channel.close(promise: nil) }
                            // One that never reaches the loop (its setup failed) does not hold the stop up.
                            channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
                        }
                        connections.quiesce()
                    }
                }
                // The drain deadline: once shutdown begins, SHUTDOWN_TIMEOUT_MS; past it the
                // requests still in flight are logged and abandoned (their connections closed
                // unanswered), so the process still ends.
                if let drainTimeout {
                    phases.addTask {
                        do {
                            try await gracefulShutdown()
                            try await sleep(drainTimeout)
                        } catch {
                            return  // the drain ended in time (or shutdown never began)
                        }
                        Self.abandon(connections.inFlight(), into: abandoned, logger: logger)
                    }
                }
                // Whichever ends first ends the other.
                await phases.next()
                phases.cancelAll()
            }
        } onCancel: {
            Self.abandon(connections.inFlight(), into: abandoned, logger: logger)
        }
        let left = abandoned.requests
        if !left.isEmpty { throw AbandonedRequests(requests: left) }
        if let error = acceptFailure.error { throw error }
    }

    private static func abandon(_ names: [String], into abandoned: AbandonedList, logger: Logger) {
        abandoned.record(names)
        if !names.isEmpty {
            logger.error("shutdown timeout: abandoning requests in flight", metadata: [
                "abandoned": .stringConvertible(names.count), "requests": .array(names.map { .string($0) }),
            ])
        }
    }

    /// One connection: its requests in turn, answered; closed when the peer or the request says
    /// so, or when the task ends.
    private func serve(_ connection: FastCGIConnection) async {
        while let request = await connection.next() {
            connection.current.withLock { $0 = try? request.head.get() }
            let response = await respond(to: request)
            connection.current.withLock { $0 = nil }
            // Abandoned at the drain deadline: no answer (the web server sees the close).
            if Task.isCancelled { break }
            connection.send(FastCGIResponse(requestId: request.requestId, keepConnection: request.keepConnection,
                                            cgi: FastCGIResponseWriter.serialize(response)))
        }
        connection.close()
    }

    private func respond(to request: FastCGIRequest) async -> Response {
        switch request.head {
        case .success(let head):
            if let limit = request.bodyTooLarge { return await failureResponder.respond(to: .bodyTooLarge(limit: limit), head: head) }
            return await responder.respond(to: Request(head: head, body: request.body, serverVariables: request.serverVariables))
        case .failure(let error):
            return await failureResponder.respond(to: .malformedRequest("\(error)"), head: nil)
        }
    }
}

/// Stopping without losing a connection: the listening channel closes only once every
/// connection it accepted has reached the accept loop (one dropped on the way would be reset).
final class AcceptGate: Sendable {
    private let state = Mutex<(accepted: Int, received: Int, stopped: Bool)>((0, 0, false))

    /// The listening channel accepted one (on its event loop).
    func accepted() { state.withLock { $0.accepted += 1 } }

    /// The loop received one; true when it was the last one before the stop.
    func received() -> Bool {
        state.withLock { s in
            s.received += 1
            return s.stopped && s.received == s.accepted
        }
    }

    var isStopped: Bool { state.withLock { $0.stopped } }

    /// No more accepting; true when every accepted one has been received already.
    func stop() -> Bool {
        state.withLock { s in
            s.stopped = true
            return s.received == s.accepted
        }
    }
}

/// On the listening channel: counts what it accepts.
final class AcceptCounter: ChannelInboundHandler, Sendable {
    typealias InboundIn = any Channel
    let gate: AcceptGate
    init(gate: AcceptGate) { self.gate = gate }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        gate.accepted()
        context.fireChannelRead(data)
    }
}

/// Why accepting stopped, when it was not the shutdown.
final class AcceptFailure: Sendable {
    private let failure = Mutex<(any Error)?>(nil)
    func record(_ error: any Error) { failure.withLock { $0 = error } }
    var error: (any Error)? { failure.withLock { $0 } }
}

/// What the drain deadline abandoned.
final class AbandonedList: Sendable {
    private let list = Mutex<[String]>([])
    func record(_ names: [String]) { list.withLock { $0 = names } }
    var requests: [String] { list.withLock { $0 } }
}

/// The open connections: to quiesce them at shutdown, and to say which requests are in flight.
final class OpenConnections: Sendable {
    private let connections = Mutex<[ObjectIdentifier: FastCGIConnection]>([:])

    func opened(_ connection: FastCGIConnection) { connections.withLock { $0[ObjectIdentifier(connection)] = connection } }
    func closed(_ connection: FastCGIConnection) { _ = connections.withLock { $0.removeValue(forKey: ObjectIdentifier(connection)) } }

    /// Idle ones close now; busy ones after their response.
    func quiesce() {
        for connection in connections.withLock({ Array($0.values) }) { connection.quiesce() }
    }

    /// The requests being answered, by method and path (a query string may carry what logs
    /// must not); "malformed request" for one whose head could not be read.
    func inFlight() -> [String] {
        connections.withLock { Array($0.values) }.compactMap { connection in
            connection.current.withLock { head in head.map { "\($0.method.rawValue) \(($0.path ?? "/").prefix { $0 != "?" })" } }
        }.sorted()
    }
}

/// At most `limit` connections served at once; the accept loop waits for a free one.
final class ConnectionSlots: Sendable {
    private let state: Mutex<(free: Int, waiting: [CheckedContinuation<Void, Never>])>

    init(_ limit: Int) { state = Mutex((limit, [])) }

    /// A free slot taken at once, without suspending; false when there is none.
    func tryAcquire() -> Bool {
        state.withLock { s in
            guard s.free > 0 else { return false }
            s.free -= 1
            return true
        }
    }

    func acquire() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now: Bool = state.withLock { s in
                if s.free > 0 {
                    s.free -= 1
                    return true
                }
                s.waiting.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    func release() {
        let next: CheckedContinuation<Void, Never>? = state.withLock { s in
            if s.waiting.isEmpty {
                s.free += 1
                return nil
            }
            return s.waiting.removeFirst()
        }
        next?.resume()
    }
}

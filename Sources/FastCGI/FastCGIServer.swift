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
    /// Connections served at once; past this, new ones wait in the kernel backlog.
    public var maxInFlight: Int = 1024
    /// Deadline for a peer to deliver a request (and to take the response).
    public var ioTimeoutMilliseconds: Int = 5_000
    /// How long a kept connection (FCGI_KEEP_CONN) may wait for its next request: longer than
    /// the web server keeps idle connections, so it is always the one that closes them.
    public var idleTimeoutMilliseconds: Int = 75_000

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
    private let inFlight = InFlightRequests()
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
            idleTimeout: .milliseconds(Int64(configuration.idleTimeoutMilliseconds)))
        let connections = self.connections
        let gate = AcceptGate()
        let server = try await ServerBootstrap(group: NIOSingletons.posixEventLoopGroup)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(AcceptCounter(gate: gate)) }
            }
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .bind(NIOBSDSocket.Handle(listenFD)) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FastCGIRecordDecoder()))
                    try channel.pipeline.syncOperations.addHandler(FastCGIRequestAssembler(limits: limits))
                    connections.opened(channel)
                    channel.closeFuture.whenComplete { _ in connections.closed(channel) }
                    return try NIOAsyncChannel<FastCGIRequest, FastCGIResponse>(wrappingChannelSynchronously: channel)
                }
            }
        let slots = ConnectionSlots(max(1, configuration.maxInFlight))
        let inFlight = self.inFlight
        let logger = self.logger
        let abandoned = self.abandoned
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { group in
                    do {
                        try await server.executeThenClose { inbound in
                            for try await connection in inbound {
                                // Past the limit, connections wait in the kernel backlog.
                                await slots.acquire()
                                group.addTask {
                                    await self.serve(connection)
                                    slots.release()
                                }
                                if gate.received() { server.channel.close(promise: nil) }
                            }
                        }
                    } catch {
                        logger.debug("accepting ended", metadata: ["error": .string(String(describing: error))])
                    }
                }
            } onGracefulShutdown: {
                self.onGracefulShutdown()
                logger.info("shutting down", metadata: ["inFlight": .stringConvertible(inFlight.count)])
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
        } onCancel: {
            let names = inFlight.snapshot()
            abandoned.record(names)
            if !names.isEmpty {
                logger.error("shutdown timeout: abandoning requests in flight", metadata: [
                    "abandoned": .stringConvertible(names.count), "requests": .array(names.map { .string($0) }),
                ])
            }
        }
        let left = abandoned.requests
        if !left.isEmpty { throw AbandonedRequests(requests: left) }
    }

    /// One connection: its requests in turn, answered; closed when the peer or the request says so.
    private func serve(_ connection: NIOAsyncChannel<FastCGIRequest, FastCGIResponse>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await request in inbound {
                    let token = inFlight.started(request.head)
                    let response = await respond(to: request)
                    inFlight.finished(token)
                    // Abandoned at the drain deadline: no answer (the web server sees the close).
                    if Task.isCancelled { return }
                    try await outbound.write(FastCGIResponse(requestId: request.requestId, keepConnection: request.keepConnection,
                                                             cgi: FastCGIResponseWriter.serialize(response)))
                }
            }
        } catch {
            logger.debug("connection ended", metadata: ["error": .string(String(describing: error))])
        }
    }

    private func respond(to request: FastCGIRequest) async -> Response {
        switch request.head {
        case .success(let head):
            if let limit = request.bodyTooLarge { return await failureResponder.respond(to: .bodyTooLarge(limit: limit), head: head) }
            return await responder.respond(to: Request(head: head, body: request.body))
        case .failure(let error):
            return await failureResponder.respond(to: .malformedRequest("\(error)"), head: nil)
        }
    }
}

/// Requests being answered, for the shutdown report (method and path only: a query string
/// may carry what logs must not).
final class InFlightRequests: Sendable {
    private let state = Mutex<(next: UInt64, active: [UInt64: String])>((0, [:]))

    func started(_ head: Result<HTTPRequest, FastCGIRequestMapper.MappingError>) -> UInt64 {
        let name = (try? head.get()).map { "\($0.method.rawValue) \(($0.path ?? "/").prefix { $0 != "?" })" } ?? "malformed request"
        return state.withLock { s in
            s.next += 1
            s.active[s.next] = name
            return s.next
        }
    }

    func finished(_ token: UInt64) { _ = state.withLock { $0.active.removeValue(forKey: token) } }
    var count: Int { state.withLock { $0.active.count } }
    func snapshot() -> [String] { state.withLock { s in s.active.sorted { $0.key < $1.key }.map(\.value) } }
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

/// What the drain deadline abandoned.
final class AbandonedList: Sendable {
    private let list = Mutex<[String]>([])
    func record(_ names: [String]) { list.withLock { $0 = names } }
    var requests: [String] { list.withLock { $0 } }
}

/// The open connections, to quiesce them at shutdown.
final class OpenConnections: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func opened(_ channel: any Channel) { channels.withLock { $0[ObjectIdentifier(channel)] = channel } }
    func closed(_ channel: any Channel) { _ = channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) } }

    /// Idle ones close now; busy ones after their response.
    func quiesce() {
        for channel in channels.withLock({ Array($0.values) }) {
            channel.triggerUserOutboundEvent(FastCGIQuiesce(), promise: nil)
        }
    }
}

/// At most `limit` connections served at once; the accept loop waits for a free one.
final class ConnectionSlots: Sendable {
    private let state: Mutex<(free: Int, waiting: [CheckedContinuation<Void, Never>])>

    init(_ limit: Int) { state = Mutex((limit, [])) }

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

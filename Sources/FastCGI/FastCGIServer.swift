import Glibc
import HTTPTypes
import Logging
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
    /// Connections open at once (each has at most one request in flight); past this, the
    /// next ones wait in the kernel's backlog.
    public var maxInFlight: Int = 1024
    /// The threads that make libfcgi's blocking calls (accept, read, write). A peer that
    /// stalls holds one of them until the I/O deadline.
    public var ioThreads: Int = 16
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

/// The FastCGI responder server on libfcgi, a service of swift-service-lifecycle.
///
/// libfcgi speaks the protocol; the `ResponderLoop` makes its blocking calls on I/O threads of
/// its own and hands each request to a child task of one task group, which asks the responder
/// and passes the answer back to the loop. On graceful shutdown the loop stops accepting,
/// closes kept connections after the drain grace, and the requests in flight finish: the group
/// is awaited. If the drain deadline (or the service group's) passes first, the requests
/// still in flight are logged and abandoned (their connections closed unanswered): `run()`
/// throws `AbandonedRequests`, and `abandonedRequests` names them.
public final class FastCGIServer: Service {
    private let listenFD: Int32
    private let configuration: FastCGIServerConfiguration
    private let responder: any Responder
    private let failureResponder: any TransportFailureResponder
    private let logger: Logger
    private let onGracefulShutdown: @Sendable () -> Void
    private let abandoned = AbandonedList()
    private let loop = Mutex<ResponderLoop?>(nil)
    /// Set when the drain deadline abandons the requests in flight: they answer nothing.
    private let abandoning = Atomic<Bool>(false)

    /// The requests the drain deadline abandoned (the service group does not pass on an error
    /// thrown while it cancels, so the caller asks).
    public var abandonedRequests: [String] { abandoned.requests }

    /// The requests being answered now, by method and path.
    public var requestsInFlight: [String] { loop.withLock { $0 }?.inFlight() ?? [] }

    /// The drain deadline passed with requests still in flight.
    public struct AbandonedRequests: Error, CustomStringConvertible {
        public let requests: [String]
        public var description: String { "\(requests.count) request(s) abandoned at shutdown" }
    }

    /// Accepting failed for a reason that does not pass (the listening socket itself): the
    /// server stopped after the requests in flight.
    public struct AcceptFailure: Error, CustomStringConvertible {
        public let description: String
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
        let limits = ResponderLoop.Limits(
            bodyLimit: configuration.bodyLimit ?? { _ in maxBody },
            ioTimeoutNanos: UInt64(max(1, configuration.ioTimeoutMilliseconds)) * 1_000_000,
            idleTimeoutNanos: UInt64(max(1, configuration.idleTimeoutMilliseconds)) * 1_000_000,
            drainGraceNanos: UInt64(max(0, configuration.drainGraceMilliseconds)) * 1_000_000,
            passedParams: configuration.passedParams.filter { !$0.hasPrefix("HTTP_") }.map { Array($0.utf8) })
        let drained = OneShot()
        let loop = try ResponderLoop(listenFD: listenFD, threads: configuration.ioThreads, maxConnections: configuration.maxInFlight,
                                     limits: limits, logger: logger,
                                     deliver: { [self] loop, connection, request in
                                         // Straight onto the global executor (the event loops): a task per request.
                                         Task.detached { await self.answer(request, on: connection, loop) }
                                     },
                                     onDrained: { drained.fire() })
        self.loop.withLock { $0 = loop }
        loop.start()
        let logger = self.logger
        let abandoned = self.abandoned
        let drainTimeout = configuration.shutdownTimeout
        let sleep = configuration.sleep
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { phases in
                // Serving, until the drain is over: every connection closed, so every request answered.
                phases.addTask {
                    await withGracefulShutdownHandler {
                        await drained.wait()
                    } onGracefulShutdown: {
                        self.onGracefulShutdown()
                        logger.info("shutting down", metadata: ["inFlight": .stringConvertible(loop.inFlight().count)])
                        loop.quiesce()
                    }
                }
                // The drain deadline: once shutdown begins, SHUTDOWN_TIMEOUT_MS; past it the
                // requests still in flight are logged and abandoned, so the process still ends.
                if let drainTimeout {
                    phases.addTask {
                        do {
                            try await gracefulShutdown()
                            try await sleep(drainTimeout)
                        } catch {
                            return  // the drain ended in time (or shutdown never began)
                        }
                        Self.abandon(loop.inFlight(), into: abandoned, logger: logger)
                    }
                }
                // Whichever ends first ends the other.
                await phases.next()
                phases.cancelAll()
            }
        } onCancel: {
            Self.abandon(loop.inFlight(), into: abandoned, logger: logger)
        }
        // Abandoned ones answer nothing and are not awaited (the process ends).
        if !abandoned.requests.isEmpty { self.abandoning.store(true, ordering: .relaxed) }
        loop.stop()
        let left = abandoned.requests
        if !left.isEmpty { throw AbandonedRequests(requests: left) }
        if let failure = loop.failure { throw AcceptFailure(description: failure) }
    }

    private static func abandon(_ names: [String], into abandoned: AbandonedList, logger: Logger) {
        abandoned.record(names)
        if !names.isEmpty {
            logger.error("shutdown timeout: abandoning requests in flight", metadata: [
                "abandoned": .stringConvertible(names.count), "requests": .array(names.map { .string($0) }),
            ])
        }
    }

    /// One request, answered (or, abandoned at the drain deadline, its connection closed:
    /// the web server sees the close).
    private func answer(_ request: FastCGIRequest, on connection: LibFCGIConnection, _ loop: ResponderLoop) async {
        let response = await respond(to: request)
        loop.reply(connection, abandoning.load(ordering: .relaxed) ? nil : FastCGIResponseWriter.serialize(response))
    }

    private func respond(to request: FastCGIRequest) async -> Response {
        if let refusal = request.refusal { return await failureResponder.respond(to: refusal, head: request.head) }
        guard let head = request.head else { return await failureResponder.respond(to: .malformedRequest("no request head"), head: nil) }
        return await responder.respond(to: Request(head: head, body: request.body, serverVariables: request.serverVariables))
    }
}

/// What the drain deadline abandoned.
final class AbandonedList: Sendable {
    private let list = Mutex<[String]>([])
    func record(_ names: [String]) { list.withLock { $0 = names } }
    var requests: [String] { list.withLock { $0 } }
}

/// An event that happens once; waiting ends with it, or when the waiting task is cancelled.
final class OneShot: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [UInt64: CheckedContinuation<Void, Never>], next: UInt64)>((false, [:], 0))

    func fire() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.fired = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        let key = state.withLock { s -> UInt64 in
            s.next += 1
            return s.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.fired || Task.isCancelled { return true }
                    s.waiters[key] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: key) }?.resume()
        }
    }
}

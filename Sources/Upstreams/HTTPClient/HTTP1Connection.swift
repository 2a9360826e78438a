import NIOCore
import NIOHTTP1

/// One request on its way: what to write, where its answer goes, and when it gives up.
///
/// Lives on its event loop: every member is read and written there only (the task that
/// awaits the answer holds it only to hand it back to the loop), hence `@unchecked Sendable`.
final class HTTP1Exchange: Hashable, @unchecked Sendable {
    let head: HTTPRequestHead
    let body: ByteBuffer?
    /// Safe to send again when a reused connection turned out dead before answering.
    let idempotent: Bool
    let deadline: NIODeadline
    /// Its deadline while it waits for a connection.
    var timer: Scheduled<Void>?
    /// The connection writing it, once it has one.
    var connection: HTTP1Connection?
    var retried = false
    private(set) var finished = false
    /// The awaiting task (resumed directly: no future in between).
    private var continuation: UnsafeContinuation<UpstreamAnswer, any Error>?
    /// The outcome when it came before the task was attached (cancelled before it started).
    private var outcome: Result<UpstreamAnswer, TransportError>?

    init(head: HTTPRequestHead, body: ByteBuffer?, deadline: NIODeadline) {
        self.head = head
        self.body = body
        idempotent = [.GET, .HEAD, .PUT, .DELETE, .OPTIONS].contains(head.method)
        self.deadline = deadline
    }

    /// The task that awaits the answer; false when the exchange is over already (it was
    /// resumed with the outcome and must not start).
    func attach(_ continuation: UnsafeContinuation<UpstreamAnswer, any Error>) -> Bool {
        if let outcome {
            continuation.resume(with: outcome.mapError { $0 })
            return false
        }
        self.continuation = continuation
        return true
    }

    /// It got a connection (or one is opened for it): the connection keeps its deadline now.
    func stopWaiting() {
        timer?.cancel()
        timer = nil
    }

    func succeed(_ answer: UpstreamAnswer) {
        finish(.success(answer))
    }

    func fail(_ error: TransportError) {
        finish(.failure(error))
    }

    private func finish(_ result: Result<UpstreamAnswer, TransportError>) {
        guard !finished else { return }
        finished = true
        timer?.cancel()
        timer = nil
        connection = nil
        if let continuation {
            self.continuation = nil
            continuation.resume(with: result.mapError { $0 })
        } else {
            outcome = result
        }
    }

    static func == (a: HTTP1Exchange, b: HTTP1Exchange) -> Bool { a === b }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// One keep-alive connection to an origin, at the end of its pipeline (after TLS, when the
/// origin has it, and NIO's HTTP/1.1 client codec): writes an exchange's request, gathers
/// the answer up to the size limit, and gives itself back to its pool.
final class HTTP1Connection: ChannelInboundHandler, Hashable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private unowned let pool: HTTP1OriginPool
    private let maxAnswerBytes: Int
    private var context: ChannelHandlerContext?
    private var exchange: HTTP1Exchange?
    private var status: HTTPResponseStatus?
    private var keepAlive = false
    private var body = ByteBuffer()
    /// Exchanges answered on this connection: a connection that never answered was not stale.
    private var answered = 0
    /// Some of the current answer arrived (the request reached the server).
    private var heardBack = false
    private var lastError: (any Error)?
    /// The current exchange's deadline; one timer per connection keeps it, moved only when a
    /// deadline comes earlier than the timer (most do not: an upstream's timeout is the same
    /// for every call).
    private var expiry: NIODeadline?
    private var timer: Scheduled<Void>?
    private var timerAt: NIODeadline?

    init(pool: HTTP1OriginPool, maxAnswerBytes: Int) {
        self.pool = pool
        self.maxAnswerBytes = maxAnswerBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Writes the exchange's request (one flush).
    func start(_ exchange: HTTP1Exchange) {
        guard let context, context.channel.isActive else {
            // Closed on the way here: its close is being handled; the exchange tries again.
            return pool.retry(exchange, after: self)
        }
        self.exchange = exchange
        exchange.connection = self
        arm(exchange.deadline, context: context)
        heardBack = false
        status = nil
        body.clear()
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        if let b = exchange.body { context.write(wrapOutboundOut(.body(.byteBuffer(b))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange else {
            // Bytes nobody asked for: the connection is out of step with the server.
            return context.close(promise: nil)
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            heardBack = true
            status = head.status
            keepAlive = head.isKeepAlive
        case .body(var part):
            guard body.readableBytes + part.readableBytes <= maxAnswerBytes else {
                self.exchange = nil
                exchange.fail(.bodyTooLarge)
                return context.close(promise: nil)
            }
            body.writeBuffer(&part)
        case .end:
            self.exchange = nil
            expiry = nil
            answered += 1
            exchange.succeed(UpstreamAnswer(status: Int(status?.code ?? 0), body: Array(body.readableBytesView)))
            body.clear()
            pool.released(self, reusable: keepAlive && context.channel.isActive)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        lastError = error
        context.close(promise: nil)
    }

    private func arm(_ deadline: NIODeadline, context: ChannelHandlerContext) {
        expiry = deadline
        if let timer, let timerAt, timerAt > deadline {
            timer.cancel()
            self.timer = nil
        }
        guard timer == nil else { return }
        timerAt = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            guard let expiry else { return }
            if expiry <= context.eventLoop.now {
                if let exchange { pool.giveUp(exchange, .timeout) }
            } else if let c = self.context {
                arm(expiry, context: c)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        if let exchange {
            self.exchange = nil
            if !heardBack && answered > 0 && exchange.idempotent && !exchange.retried {
                // The server closed a kept connection as we reused it: once more, on a new one.
                exchange.retried = true
                pool.retry(exchange, after: self)
            } else {
                exchange.fail(.unreachable(lastError.map { "connection failed: \($0)" } ?? "the connection closed before the answer"))
            }
        }
        pool.closed(self)
        context.fireChannelInactive()
    }

    /// The exchange gave up (deadline, cancellation): its answer may still come, so the
    /// connection is not reused.
    func abandon() {
        exchange = nil
        expiry = nil
        close()
    }

    func close() {
        context?.close(promise: nil)
    }

    static func == (a: HTTP1Connection, b: HTTP1Connection) -> Bool { a === b }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

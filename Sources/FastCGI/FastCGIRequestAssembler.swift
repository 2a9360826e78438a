import HTTPTypes
import NIOCore

/// Records → requests, one at a time per connection (the web server never multiplexes; a
/// second BEGIN_REQUEST meanwhile is refused with CANT_MPX_CONN). Answers management records
/// itself, applies the body limit of the request's route, and closes a connection whose peer
/// stalls: a request must arrive, and its response leave, within the I/O deadline; a kept
/// connection may idle for longer. Responses on their way out become STDOUT and END_REQUEST
/// records; without FCGI_KEEP_CONN the connection is then closed.
///
/// When the server stops, a kept connection is not closed at once: the web server may be
/// writing a request into it at that moment, and nginx does not retry a POST on a cached
/// connection that failed (a 502). It stays open for the drain grace, serving what comes,
/// for the web server to close it (the shipped nginx profiles recycle kept connections every
/// second); past the grace the app closes it, right after a response or when idle.
final class FastCGIRequestAssembler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = FastCGIRequest
    typealias OutboundIn = FastCGIResponse
    typealias OutboundOut = ByteBuffer

    struct ProtocolError: Error, CustomStringConvertible {
        let description: String
    }

    private enum State {
        /// Waiting for BEGIN_REQUEST.
        case idle
        case params(id: UInt16, keep: Bool, params: ByteBuffer)
        case stdin(id: UInt16, keep: Bool, head: Result<HTTPRequest, FastCGIRequestMapper.MappingError>, variables: [String: String],
                   body: [UInt8], limit: Int, tooLarge: Bool)
        /// The request went to the application; its response has not left yet.
        case responding(id: UInt16, keep: Bool)
    }

    private let limits: FastCGIConnectionLimits
    private var state = State.idle
    /// The start of a record whose rest has not arrived yet.
    private var unread = ByteBuffer()
    /// When the connection is closed unless something happens; nil while the application
    /// has the request (it has its own deadline).
    private var expiry: NIODeadline?
    /// The one timer of the connection. Moving the deadline costs a timestamp, not a timer:
    /// the timer, on firing early, re-arms for what is left.
    private var timer: Scheduled<Void>?
    private var timerAt: NIODeadline?
    /// Set when the server stops: the end of the drain grace.
    private var drainEnd: NIODeadline?

    init(limits: FastCGIConnectionLimits) {
        self.limits = limits
    }

    // MARK: deadlines

    private func arm(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        arm(until: context.eventLoop.now + timeout, context: context)
    }

    private func arm(until at: NIODeadline, context: ChannelHandlerContext) {
        expiry = at
        if let timer, let timerAt, timerAt > at {
            // Earlier than the timer: it has to move (the usual moves are later, and free).
            timer.cancel()
            self.timer = nil
        }
        if timer == nil { schedule(at, context: context) }
    }

    private func schedule(_ at: NIODeadline, context: ChannelHandlerContext) {
        timerAt = at
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: at) { [self] in
            timer = nil
            guard let expiry else { return }
            if expiry <= context.eventLoop.now { context.close(promise: nil) } else { schedule(expiry, context: context) }
        }
    }

    private func disarm() {
        expiry = nil
    }

    private func stopTimer() {
        expiry = nil
        timer?.cancel()
        timer = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(limits.ioTimeout, context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopTimer()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A broken peer (another protocol version, malformed records): nobody to answer.
        stopTimer()
        context.close(promise: nil)
    }

    // MARK: reading

    /// Records are framed here, as they arrive (no separate decoder stage: a request is four
    /// or five records, each a trip through the pipeline otherwise).
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if unread.readableBytes > 0 {
            unread.writeBuffer(&bytes)
            bytes = unread
            unread = ByteBuffer()
        }
        do {
            while let record = try FastCGIRecordDecoder.record(from: &bytes) {
                try handle(record, context: context)
            }
        } catch {
            return errorCaught(context: context, error: error)
        }
        if bytes.readableBytes > 0 {
            // Part of a record (at most 64 KiB and a header): kept for the next read.
            bytes.discardReadBytes()
            unread = bytes
        }
    }

    private func handle(_ record: FastCGIRecord, context: ChannelHandlerContext) throws {
        guard let type = FastCGIProtocol.RecordType(record.type) else {
            if record.requestId == FastCGIProtocol.nullRequestId { write(unknownType: record.type, context: context) }
            return
        }
        if record.requestId == FastCGIProtocol.nullRequestId {
            if type == .getValues { try answerGetValues(record.content, context: context) } else { write(unknownType: record.type, context: context) }
            return
        }
        switch (type, state) {
        case (.beginRequest, .idle):
            var content = record.content
            guard let role = content.readInteger(as: UInt16.self), let flags = content.readInteger(as: UInt8.self) else {
                throw ProtocolError(description: "short BEGIN_REQUEST")
            }
            let keep = flags & FastCGIProtocol.keepConnectionFlag != 0
            guard role == FastCGIProtocol.responderRole else {
                writeEnd(record.requestId, .unknownRole, keep: keep, context: context)
                return
            }
            arm(limits.ioTimeout, context: context)
            state = .params(id: record.requestId, keep: keep, params: ByteBuffer())
        case (.beginRequest, _):
            // One request at a time on a connection.
            writeEnd(record.requestId, .cantMultiplexConnections, keep: true, context: context)
        case (.params, .params(let id, let keep, var params)) where record.requestId == id:
            if record.content.readableBytes == 0 {
                state = .idle  // while the head is built
                var variables: [String: String] = [:]
                let head = Result { () throws(FastCGIRequestMapper.MappingError) in
                    try FastCGIRequestMapper.makeHead(params: try Self.mappedParams(params, passing: limits.passedParams, into: &variables))
                }
                let limit = (try? head.get()).map(limits.bodyLimit) ?? limits.bodyLimit(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/"))
                let declared = (try? head.get())?.headerFields[.contentLength].flatMap { Int($0) } ?? 0
                state = .stdin(id: id, keep: keep, head: head, variables: variables, body: [], limit: limit, tooLarge: declared > limit)
            } else {
                var content = record.content
                guard params.readableBytes + content.readableBytes <= limits.maxParamsBytes else {
                    throw ProtocolError(description: "PARAMS larger than \(limits.maxParamsBytes) bytes")
                }
                // The first record's content as it is (usually the only one); later ones appended.
                if params.readableBytes == 0 { params = content } else { params.writeBuffer(&content) }
                state = .params(id: id, keep: keep, params: params)
            }
        case (.stdin, .stdin(let id, let keep, let head, let variables, var body, let limit, var tooLarge)) where record.requestId == id:
            if record.content.readableBytes == 0 {
                disarm()
                state = .responding(id: id, keep: keep)
                context.fireChannelRead(wrapInboundOut(FastCGIRequest(requestId: id, keepConnection: keep, head: head, serverVariables: variables,
                                                                      body: tooLarge ? [] : body, bodyTooLarge: tooLarge ? limit : nil)))
            } else {
                // The whole body is read (to its end: a peer's unread bytes would reset its read of
                // the answer), but only up to the limit is kept.
                if !tooLarge {
                    if body.count + record.content.readableBytes > limit {
                        tooLarge = true
                        body = []
                    } else {
                        body.append(contentsOf: record.content.readableBytesView)
                    }
                }
                state = .stdin(id: id, keep: keep, head: head, variables: variables, body: body, limit: limit, tooLarge: tooLarge)
            }
        case (.abortRequest, .params(let id, let keep, _)) where record.requestId == id,
             (.abortRequest, .stdin(let id, let keep, _, _, _, _, _)) where record.requestId == id:
            writeEnd(id, .requestComplete, keep: keep, context: context)
            finished(keep: keep, context: context)
        default:
            // DATA, STDIN after the end, records of another request id: not ours to act on.
            break
        }
    }

    /// The params the mapping reads (`HTTP_*` and a few CGI variables); those named in
    /// `passing` go to `variables` instead; the others (DOCUMENT_ROOT, SERVER_SOFTWARE, …)
    /// are skipped without building a String.
    static func mappedParams(_ buffer: ByteBuffer, passing: [[UInt8]] = [], into variables: inout [String: String])
        throws(FastCGIRequestMapper.MappingError) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        out.reserveCapacity(16)
        do {
            try FastCGINameValuePairs.forEach(in: buffer) { name, value in
                if FastCGIRequestMapper.isMapped(name) {
                    out.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
                } else if passing.contains(where: { $0.count == name.count && $0.elementsEqual(name) }) {
                    variables[String(decoding: name, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
                }
            }
        } catch {
            throw .invalidParams
        }
        return out
    }

    private func answerGetValues(_ content: ByteBuffer, context: ChannelHandlerContext) throws {
        var names: [String] = []
        try FastCGINameValuePairs.forEach(in: content) { name, _ in names.append(String(decoding: name, as: UTF8.self)) }
        var reply = context.channel.allocator.buffer(capacity: 64)
        for name in names {
            switch name {
            case FastCGIProtocol.maxConnsName, FastCGIProtocol.maxReqsName: FastCGINameValuePairs.append(name: name, value: "1024", to: &reply)
            case FastCGIProtocol.mpxsConnsName: FastCGINameValuePairs.append(name: name, value: "0", to: &reply)
            default: continue
            }
        }
        var out = context.channel.allocator.buffer(capacity: 8 + reply.readableBytes)
        FastCGIRecords.header(.getValuesResult, requestId: FastCGIProtocol.nullRequestId, length: reply.readableBytes, into: &out)
        out.writeBuffer(&reply)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    private func write(unknownType type: UInt8, context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: 16)
        FastCGIRecords.header(.unknownType, requestId: FastCGIProtocol.nullRequestId, length: 8, into: &out)
        out.writeBytes([type, 0, 0, 0, 0, 0, 0, 0])
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    private func writeEnd(_ id: UInt16, _ status: FastCGIProtocol.ProtocolStatus, keep: Bool, context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: 16)
        FastCGIRecords.endRequest(id, status: status, into: &out)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        if !keep { context.close(promise: nil) }
    }

    // MARK: writing

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let response = unwrapOutboundIn(data)
        var out = context.channel.allocator.buffer(capacity: response.cgi.count + 64)
        FastCGIRecords.response(response.cgi, requestId: response.requestId, into: &out)
        let closesAfter = !response.keepConnection || drainEnd.map { $0 <= context.eventLoop.now } == true
        guard !closesAfter, promise == nil else {
            // The peer must take the response within the I/O deadline; the connection closes
            // once the response is out (closing earlier would drop what is still queued).
            arm(limits.ioTimeout, context: context)
            let written = promise ?? context.eventLoop.makePromise(of: Void.self)
            written.futureResult.assumeIsolated().whenSuccess { [self] in self.finished(keep: response.keepConnection, context: context) }
            return context.writeAndFlush(wrapOutboundOut(out), promise: written)
        }
        // A kept connection idles from here: no promise to wait on (the web server reads what it asked for).
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        finished(keep: true, context: context)
    }

    /// A request is over: close, or wait for the next one on a kept connection (while the
    /// server stops, until the end of the drain grace).
    private func finished(keep: Bool, context: ChannelHandlerContext) {
        state = .idle
        guard keep, context.channel.isActive else {
            stopTimer()
            return context.close(promise: nil)
        }
        if let drainEnd {
            if drainEnd <= context.eventLoop.now {
                stopTimer()
                context.close(promise: nil)
            } else {
                arm(until: drainEnd, context: context)
            }
        } else {
            arm(limits.idleTimeout, context: context)
        }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is FastCGIQuiesce else { return context.triggerUserOutboundEvent(event, promise: promise) }
        if drainEnd == nil {
            let end = context.eventLoop.now + limits.drainGrace
            drainEnd = end
            // An idle connection waits no longer than the grace; one being answered decides
            // after its response.
            if case .idle = state, let expiry, expiry > end { arm(until: end, context: context) }
        }
        promise?.succeed(())
    }
}

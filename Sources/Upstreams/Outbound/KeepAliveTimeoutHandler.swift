import NIOCore
import NIOHTTP1

/// Closes a kept connection before the server does, when the server announced how long it
/// keeps an idle connection (`Keep-Alive: timeout=N`): a call then never meets a connection the
/// server is closing at that moment. Without the header, AsyncHTTPClient's idle timer (4 s)
/// applies. Sits between the response decoder and AsyncHTTPClient's connection handler, on the
/// connection's event loop only.
final class KeepAliveTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias InboundOut = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private var announced: TimeAmount?
    private var closing: Scheduled<Void>?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head) where head.status.code >= 200:
            announced = head.headers[canonicalForm: "keep-alive"].lazy.compactMap(Self.timeout).first
        case .end:
            if let announced {
                // A margin under the server's word: half of it when it is short, else 1 s less.
                let idle = announced >= .seconds(2) ? announced - .seconds(1) : .nanoseconds(announced.nanoseconds / 2)
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                closing = context.eventLoop.scheduleTask(in: idle) { loopBound.value.close(promise: nil) }
            }
        default:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head = unwrapOutboundIn(data) {
            closing?.cancel()
            closing = nil
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing?.cancel()
        closing = nil
        context.fireChannelInactive()
    }

    /// `timeout=N` of one `Keep-Alive` value (`timeout=5, max=100`).
    static func timeout(_ value: Substring) -> TimeAmount? {
        for part in value.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == "timeout", let seconds = Int64(pair[1]), seconds > 0 {
                return .seconds(seconds)
            }
        }
        return nil
    }

    /// Adds the handler to a connection AsyncHTTPClient has just set up (its
    /// `http1_1ConnectionDebugInitializer`): after the response decoder.
    static func install(on channel: any Channel) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            let decoder = try sync.handler(type: ByteToMessageHandler<HTTPResponseDecoder>.self)
            try sync.addHandler(KeepAliveTimeoutHandler(), position: .after(decoder))
        }
    }
}

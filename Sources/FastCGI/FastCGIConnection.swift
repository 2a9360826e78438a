import HTTPTypes
import NIOCore
import Synchronization

/// The end of a connection's pipeline that its task talks to: it hands the task the next
/// request and takes the task's response.
///
/// Its state lives on the channel's event loop. The task normally runs there too (the event
/// loops are the global executor and a task resumes on the loop that resumed it), so handing
/// over a request or a response is a call, not a hop; from any other thread it hops with
/// `execute`. At most one request waits here: the assembler refuses a second one while the
/// first is being answered.
final class FastCGIConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = FastCGIRequest
    typealias OutboundOut = FastCGIResponse

    let eventLoop: any EventLoop
    /// The request being answered (for the shutdown report); read from other threads.
    let current = Mutex<HTTPRequest?>(nil)

    // On the event loop only.
    private var context: ChannelHandlerContext?
    private var pending: FastCGIRequest?
    private var waiter: UnsafeContinuation<FastCGIRequest?, Never>?
    private var closed = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        end()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let request = unwrapInboundIn(data)
        if let waiter {
            self.waiter = nil
            waiter.resume(returning: request)
        } else {
            pending = request
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        end()
        context.fireChannelInactive()
    }

    private func end() {
        closed = true
        if let waiter {
            self.waiter = nil
            waiter.resume(returning: nil)
        }
    }

    /// For a connection whose pipeline could not be set up: it has no requests to give.
    func abandon() {
        closed = true
    }

    /// The next request; nil once the connection is closed (also when the task is cancelled:
    /// the connection is closed then).
    func next() async -> FastCGIRequest? {
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<FastCGIRequest?, Never>) in
                if eventLoop.inEventLoop { take(continuation) } else { eventLoop.execute { self.take(continuation) } }
            }
        } onCancel: {
            close()
        }
    }

    private func take(_ continuation: UnsafeContinuation<FastCGIRequest?, Never>) {
        if let pending {
            self.pending = nil
            continuation.resume(returning: pending)
        } else if closed {
            continuation.resume(returning: nil)
        } else {
            waiter = continuation
        }
    }

    /// Writes a response (the assembler frames it; a dead peer is the deadline's business).
    func send(_ response: FastCGIResponse) {
        if eventLoop.inEventLoop { write(response) } else { eventLoop.execute { self.write(response) } }
    }

    private func write(_ response: FastCGIResponse) {
        guard let context, !closed else { return }
        context.writeAndFlush(wrapOutboundOut(response), promise: nil)
    }

    /// The server stops: close when idle, else after the response.
    func quiesce() {
        if eventLoop.inEventLoop { context?.triggerUserOutboundEvent(FastCGIQuiesce(), promise: nil) } else {
            eventLoop.execute { self.context?.triggerUserOutboundEvent(FastCGIQuiesce(), promise: nil) }
        }
    }

    func close() {
        if eventLoop.inEventLoop { context?.close(promise: nil) } else { eventLoop.execute { self.context?.close(promise: nil) } }
    }
}

import CProcessShims
import Glibc
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// SIGTERM and SIGINT as the graceful-shutdown signals, read from a signalfd on an event loop.
///
/// swift-service-lifecycle would do this itself with a Dispatch signal source, but that starts
/// libdispatch's event thread, of the user-initiated class, which asks for a higher priority
/// (nice -4) than an unprivileged, sandboxed service may have; the refusal was written to the
/// journal as a line that is not JSON at every start. This service ends at the first signal,
/// and the group, told so by its termination behaviour, shuts down gracefully.
struct ShutdownSignals: Service, CustomStringConvertible {
    private let descriptor: Int32
    private let logger: Logger
    var description: String { "ShutdownSignals" }

    struct SetupError: Error, CustomStringConvertible {
        let description: String
    }

    /// Blocks SIGTERM and SIGINT (every thread started later inherits the mask) and opens a
    /// signalfd for them. Must run before anything starts a thread.
    static func block(logger: Logger) throws(SetupError) -> ShutdownSignals {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        let blocked = pthread_sigmask(SIG_BLOCK, &signals, nil)
        guard blocked == 0 else { throw SetupError(description: "pthread_sigmask: \(String(cString: strerror(blocked)))") }
        let fd = signalfd(-1, &signals, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
        guard fd >= 0 else { throw SetupError(description: "signalfd: \(String(cString: strerror(errno)))") }
        return ShutdownSignals(descriptor: fd, logger: logger)
    }

    func run() async throws {
        let received = FirstSignal(NIOSingletons.posixEventLoopGroup.next().makePromise(of: Int32.self))
        let channel = try await NIOPipeBootstrap(group: NIOSingletons.posixEventLoopGroup)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(SignalReader(received: received)) }
            }
            .takingOwnershipOfDescriptor(input: descriptor).get()
        await withGracefulShutdownHandler {
            if let signal = try? await received.promise.futureResult.get(), signal != 0 {
                logger.info("signal received", metadata: ["signal": .string(signal == SIGTERM ? "SIGTERM" : "SIGINT")])
            }
        } onGracefulShutdown: {
            // Stopping for another reason: nothing to wait for.
            received.complete(0)
        }
        try? await channel.close()
    }
}

/// The first signal (0: none, the wait ended for another reason), completed once whoever comes first.
private final class FirstSignal: Sendable {
    let promise: EventLoopPromise<Int32>
    private let done = Mutex(false)

    init(_ promise: EventLoopPromise<Int32>) {
        self.promise = promise
    }

    func complete(_ signal: Int32) {
        guard done.withLock({ done in defer { done = true }; return !done }) else { return }
        promise.succeed(signal)
    }
}

/// Reads `signalfd_siginfo` records; the first one is the signal.
private final class SignalReader: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let received: FirstSignal

    init(received: FirstSignal) {
        self.received = received
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // ssi_signo is the record's first field, a native-endian (here little-endian) UInt32.
        let number = unwrapInboundIn(data).getInteger(at: 0, endianness: .little, as: UInt32.self) ?? 0
        received.complete(Int32(number))
    }

    func channelInactive(context: ChannelHandlerContext) {
        received.complete(0)
        context.fireChannelInactive()
    }
}

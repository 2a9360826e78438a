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
/// and the group, told so by its termination behaviour, shuts down gracefully. The signalfd
/// stays open: a second signal (Ctrl-C twice, or systemd's stop repeated) goes to
/// `onSecondSignal`, which ends the process at once. The process has this one owner of
/// SIGTERM and SIGINT: libfcgi's handler is undone after its initialisation (ResponderLoop).
struct ShutdownSignals: Service, CustomStringConvertible {
    private let descriptor: Int32
    private let logger: Logger
    private let second = SecondSignal()
    var description: String { "ShutdownSignals" }

    /// What a second signal does (the caller's: it knows what is in flight).
    func onSecondSignal(_ action: @escaping @Sendable (String) -> Void) {
        second.set(action)
    }

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

    static func name(_ signal: Int32) -> String { signal == SIGTERM ? "SIGTERM" : "SIGINT" }

    func run() async throws {
        let received = FirstSignal(NIOSingletons.posixEventLoopGroup.next().makePromise(of: Int32.self))
        // Not closed when this service ends: it reads the second signal too, until the process exits.
        _ = try await NIOPipeBootstrap(group: NIOSingletons.posixEventLoopGroup)
            .channelInitializer { [second] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SignalReader(received: received, second: second))
                }
            }
            .takingOwnershipOfDescriptor(input: descriptor).get()
        await withGracefulShutdownHandler {
            if let signal = try? await received.promise.futureResult.get(), signal != 0 {
                logger.info("signal received", metadata: ["signal": .string(Self.name(signal))])
            }
        } onGracefulShutdown: {
            // Stopping for another reason: nothing to wait for.
            received.complete(0)
        }
    }
}

/// What a second signal does.
private final class SecondSignal: Sendable {
    private let action = Mutex<(@Sendable (String) -> Void)?>(nil)
    func set(_ action: @escaping @Sendable (String) -> Void) { self.action.withLock { $0 = action } }
    func fire(_ signal: Int32) { action.withLock { $0 }?(ShutdownSignals.name(signal)) }
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

/// Reads `signalfd_siginfo` records (128 bytes each); the first one is the signal, any later one
/// the second signal.
private final class SignalReader: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let received: FirstSignal
    let second: SecondSignal
    private let count = Mutex(0)

    init(received: FirstSignal, second: SecondSignal) {
        self.received = received
        self.second = second
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        // ssi_signo is each record's first field, a native-endian (here little-endian) UInt32.
        for offset in stride(from: buffer.readerIndex, to: buffer.writerIndex, by: 128) {
            let number = Int32(buffer.getInteger(at: offset, endianness: .little, as: UInt32.self) ?? 0)
            if count.withLock({ $0 += 1; return $0 }) == 1 { received.complete(number) } else { second.fire(number) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        received.complete(0)
        context.fireChannelInactive()
    }
}

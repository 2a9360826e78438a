import CFastCGI
import Glibc
import HTTPTypes
import Logging
import Synchronization

/// The responder loop: libfcgi's blocking calls on a few I/O threads, driven by readiness.
///
/// The I/O threads wait together on one epoll set that holds the listening socket, every idle
/// kept connection, and an eventfd that says answers are waiting. A thread woken by the
/// listening socket calls `FCGX_Accept_r` on a new `FCGX_Request` (the socket is
/// non-blocking: a thread that lost the race gets `-EAGAIN`); one woken by a kept connection
/// calls `FCGX_Accept_r` on that connection's request; either then reads the params and the
/// body and hands the request to the application (`deliver`), and goes back to waiting. The
/// application's answer comes back through `reply`, and a thread writes it with
/// `FCGX_PutStr`/`FCGX_Finish_r`, then parks the connection in epoll again if the web server
/// keeps it. No libfcgi call runs on an event loop or on Swift's concurrency pool, and an
/// idle kept connection costs a registration, not a thread.
///
/// Every event is taken by one thread (`EPOLLONESHOT`, one event per wait), so a peer that
/// stalls holds one thread, never the others' events; the watchdog cuts it at the I/O
/// deadline by interrupting the thread's blocking call with a signal (`SIGUSR2`, installed
/// without `SA_RESTART`: the call fails with `EINTR` and libfcgi drops the connection).
/// Idle kept connections are closed after the idle timeout, and, once the loop quiesces,
/// after the drain grace. At most `maxConnections` connections are open; past that the
/// listening socket leaves the epoll set and connections wait in the kernel's backlog.
final class ResponderLoop: @unchecked Sendable {
    struct Limits: Sendable {
        /// Largest body for a request head (its route may take more than the default).
        var bodyLimit: @Sendable (HTTPRequest) -> Int
        /// A peer must deliver a whole request, and take a whole response, within this.
        var ioTimeoutNanos: UInt64
        /// A kept connection may wait this long for its next request.
        var idleTimeoutNanos: UInt64
        /// Once the loop quiesces, how long a kept connection stays open for the web server.
        var drainGraceNanos: UInt64
        /// The names of the params passed on as server variables.
        var passedParams: [[UInt8]]
    }

    private enum Token {
        static let listen: UInt64 = 1
        static let replies: UInt64 = 2
        static let stop: UInt64 = 3
        static let firstConnection: UInt64 = 16
    }

    private enum Phase {
        /// A thread or the application has it.
        case busy
        /// Idle in the epoll set since then.
        case parked(since: UInt64)
    }

    private struct State {
        var connections: [UInt64: (connection: LibFCGIConnection, phase: Phase)] = [:]
        var nextID = Token.firstConnection
        /// Open connections, and accepts under way.
        var open = 0
        var listenArmed = false
        var accepting = true
        /// After an accept error that may pass (out of descriptors), accepting waits until then.
        var retryListenAt: UInt64 = 0
        /// Set when the loop quiesces: kept connections close from then on.
        var graceEnd: UInt64?
        var drained = false
        var failure: String?
    }

    private let listenFD: Int32
    private let epollFD: Int32
    /// An eventfd in semaphore mode: one count per answer waiting in `replies`.
    private let repliesFD: Int32
    /// An eventfd written once: every I/O thread and the watchdog leave.
    private let stopFD: Int32
    private let maxConnections: Int
    private let limits: Limits
    private let logger: Logger
    private let deliver: @Sendable (LibFCGIConnection, FastCGIRequest) -> Void
    private let onDrained: @Sendable () -> Void
    private let state = Mutex(State())
    private let replies = Mutex(AnswerQueue())
    private let clocks: [WorkerClock]

    struct SetupError: Error, CustomStringConvertible {
        let description: String
    }

    /// `deliver`: a request read, for the application (called on an I/O thread; must not
    /// block). `onDrained`: after `quiesce()`, called once the last connection has closed.
    init(listenFD: Int32, threads: Int, maxConnections: Int, limits: Limits, logger: Logger,
         deliver: @escaping @Sendable (LibFCGIConnection, FastCGIRequest) -> Void,
         onDrained: @escaping @Sendable () -> Void) throws(SetupError) {
        Self.initializeLibFCGI()
        self.listenFD = listenFD
        self.maxConnections = max(1, maxConnections)
        self.limits = limits
        self.logger = logger
        self.deliver = deliver
        self.onDrained = onDrained
        clocks = (0..<max(1, threads)).map { _ in WorkerClock() }
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        repliesFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE))
        stopFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard epollFD >= 0, repliesFD >= 0, stopFD >= 0 else { throw SetupError(description: "epoll/eventfd: \(String(cString: strerror(errno)))") }
        guard control(EPOLL_CTL_ADD, repliesFD, events: UInt32(EPOLLIN.rawValue), token: Token.replies),
              control(EPOLL_CTL_ADD, stopFD, events: UInt32(EPOLLIN.rawValue), token: Token.stop) else {
            throw SetupError(description: "epoll_ctl: \(String(cString: strerror(errno)))")
        }
        let armed = state.withLock { s in
            s.listenArmed = control(EPOLL_CTL_ADD, listenFD, events: UInt32(EPOLLIN.rawValue) | EPOLLONESHOT.rawValue, token: Token.listen)
            return s.listenArmed
        }
        guard armed else { throw SetupError(description: "epoll_ctl(listening socket): \(String(cString: strerror(errno)))") }
    }

    /// libfcgi once per process. Its `FCGX_Init` installs signal handlers of its own
    /// (SIGPIPE, SIGUSR1, and SIGTERM when it has none); the process keeps one owner of
    /// SIGTERM (blocked in every thread and read from a signalfd, see ShutdownSignals), so
    /// SIGTERM goes back to its default and SIGPIPE back to ignored. SIGUSR2 is the
    /// watchdog's. Lingering close: every request's body is read to its end before the
    /// answer, so nothing the web server sent is left unread when a connection closes, and
    /// libfcgi need not wait for the web server to hang up (its default is to wait 2 s).
    private static let libFCGIInitialized: Bool = {
        setenv("LIBFCGI_OS_CLOSE_POLL_TIMEOUT", "0", 0)
        let rc = FCGX_Init()
        signal(SIGTERM, SIG_DFL)
        signal(SIGPIPE, SIG_IGN)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGUSR2, &action, nil)
        return rc == 0
    }()

    static func initializeLibFCGI() { _ = libFCGIInitialized }

    // MARK: threads

    /// Starts the I/O threads and the watchdog.
    func start() {
        for (index, clock) in clocks.enumerated() {
            clock.thread = Self.spawn { [self] in
                tcb_name_this_thread("fcgi-io-\(index)")
                work(clock)
            }
        }
        _ = Self.spawn { [self] in
            tcb_name_this_thread("fcgi-watchdog")
            watch()
        }
    }

    /// Makes every thread leave (those in a blocking call, at its deadline).
    func stop() {
        var one: UInt64 = 1
        _ = write(stopFD, &one, 8)
    }

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    private static func spawn(_ run: @escaping () -> Void) -> pthread_t {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        // Small stacks: the threads run libfcgi and the params' mapping, nothing deep.
        pthread_attr_setstacksize(&attributes, 512 * 1024)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let body = Unmanaged.passRetained(Body(run)).toOpaque()
        let rc = pthread_create(&thread, &attributes, { argument in
            Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue().run()
            return nil
        }, body)
        precondition(rc == 0, "pthread_create: \(rc)")
        return thread
    }

    private func work(_ clock: WorkerClock) {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { scratch.deallocate() }
        var event = epoll_event()
        while true {
            guard epoll_wait(epollFD, &event, 1, -1) == 1 else { continue }  // EINTR
            switch event.data.u64 {
            case Token.stop: return
            case Token.listen: acceptOne(clock, scratch)
            case Token.replies: writeOneReply(clock)
            case let id: readNext(id, clock, scratch)
            }
        }
    }

    // MARK: requests in

    private func acceptOne(_ clock: WorkerClock, _ scratch: UnsafeMutableRawBufferPointer) {
        let now = Self.now()
        let id: UInt64? = state.withLock { s in
            s.listenArmed = false
            guard s.accepting, s.open < maxConnections else { return nil }
            s.open += 1
            s.nextID += 1
            // Armed again before this accept: other threads take the connections behind it,
            // and a connection that stalls here holds this thread only.
            rearmListen(&s, now: now)
            return s.nextID
        }
        guard let id else { return }
        let connection = LibFCGIConnection(id: id, listenFD: listenFD)
        clock.begin(deadline: now + limits.ioTimeoutNanos, io: limits.ioTimeoutNanos)
        let rc = connection.accept()
        guard rc == 0 else {
            clock.end()
            acceptFailed(rc)
            return
        }
        state.withLock { $0.connections[id] = (connection, .busy) }
        serve(connection, clock, scratch)
    }

    private func acceptFailed(_ rc: Int32) {
        let error = -rc
        let transient = error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM
        let fatal = !transient && error != EAGAIN && error != EINTR && error != ECONNABORTED && error != EPROTO
            && error != ECONNRESET && error > 0 && !isQuiescing
        if transient || fatal {
            logger.error(fatal ? "accepting failed" : "accepting paused", metadata: ["error": .string(error > 0 ? String(cString: strerror(error)) : "\(rc)")])
        }
        state.withLock { s in
            s.open -= 1
            if transient { s.retryListenAt = Self.now() + 100_000_000 }
            if fatal { s.failure = s.failure ?? "accept: \(String(cString: strerror(error)))" }
            rearmListen(&s, now: Self.now())
        }
        if fatal { quiesce() }
        checkDrained()
    }

    private var isQuiescing: Bool { state.withLock { !$0.accepting } }

    /// A parked kept connection became readable: its next request (or its end).
    private func readNext(_ id: UInt64, _ clock: WorkerClock, _ scratch: UnsafeMutableRawBufferPointer) {
        let connection: LibFCGIConnection? = state.withLock { s in
            guard let entry = s.connections[id], case .parked = entry.phase else { return nil }
            s.connections[id] = (entry.connection, .busy)
            return entry.connection
        }
        guard let connection else { return }  // closed meanwhile by the watchdog
        clock.begin(deadline: Self.now() + limits.ioTimeoutNanos, io: limits.ioTimeoutNanos)
        guard connection.accept() == 0 else {
            // The web server closed it (libfcgi closed it too, and found nothing to accept instead).
            clock.end()
            closeConnection(connection)
            return
        }
        serve(connection, clock, scratch)
    }

    /// The request `accept()` began: read it and hand it over.
    private func serve(_ connection: LibFCGIConnection, _ clock: WorkerClock, _ scratch: UnsafeMutableRawBufferPointer) {
        let read = connection.read(limits: limits, scratch: scratch)
        clock.end()
        switch read {
        case .broken:
            closeConnection(connection)
        case .request(let request):
            state.withLock { _ in connection.current = request.head }
            deliver(connection, request)
        }
    }

    // MARK: answers out

    /// The application's answer to the request the connection delivered (nil: abandoned,
    /// the connection closes unanswered). Any thread; does not block.
    func reply(_ connection: LibFCGIConnection, _ cgi: [UInt8]?) {
        replies.withLock { $0.push((connection, cgi)) }
        var one: UInt64 = 1
        _ = write(repliesFD, &one, 8)
    }

    private func writeOneReply(_ clock: WorkerClock) {
        var count: UInt64 = 0
        guard read(repliesFD, &count, 8) == 8, let (connection, cgi) = replies.withLock({ $0.pop() }) else { return }
        state.withLock { _ in connection.current = nil }
        guard let cgi else {
            closeConnection(connection)
            return
        }
        clock.begin(deadline: Self.now() + limits.ioTimeoutNanos, io: limits.ioTimeoutNanos)
        _ = connection.finish(with: cgi)
        clock.end()
        park(connection)
    }

    /// After an answer: a kept connection waits in epoll for its next request; one the web
    /// server did not keep (or that failed, or that the drain grace ended) is closed.
    private func park(_ connection: LibFCGIConnection) {
        let fd = connection.descriptor
        let parked: Bool = fd >= 0 && state.withLock { s in
            let now = Self.now()
            if let end = s.graceEnd, now >= end { return false }
            // Registered under the lock: the watchdog cannot close it in between (and its
            // descriptor number cannot be taken by another connection meanwhile).
            let events = UInt32(EPOLLIN.rawValue) | EPOLLONESHOT.rawValue
            let done = (connection.registeredDescriptor == fd && control(EPOLL_CTL_MOD, fd, events: events, token: connection.id))
                || control(EPOLL_CTL_ADD, fd, events: events, token: connection.id)
            guard done else { return false }
            connection.registeredDescriptor = fd
            s.connections[connection.id] = (connection, .parked(since: now))
            return true
        }
        if !parked { closeConnection(connection) }
    }

    private func closeConnection(_ connection: LibFCGIConnection) {
        connection.close()
        state.withLock { s in
            s.connections[connection.id] = nil
            s.open -= 1
            rearmListen(&s, now: Self.now())
        }
        checkDrained()
    }

    // MARK: the listening socket, the watchdog, the drain

    /// Puts the listening socket back in the epoll set when it may accept again.
    private func rearmListen(_ s: inout State, now: UInt64) {
        guard s.accepting, !s.listenArmed, s.open < maxConnections, now >= s.retryListenAt else { return }
        s.listenArmed = control(EPOLL_CTL_MOD, listenFD, events: UInt32(EPOLLIN.rawValue) | EPOLLONESHOT.rawValue, token: Token.listen)
    }

    private func control(_ operation: Int32, _ fd: Int32, events: UInt32, token: UInt64) -> Bool {
        var event = epoll_event()
        event.events = events
        event.data.u64 = token
        return epoll_ctl(epollFD, operation, fd, &event) == 0
    }

    /// Cuts blocking calls past their deadline, closes kept connections idle past the idle
    /// timeout (or past the drain grace), and lets accepting resume after a pause.
    private func watch() {
        let tick = Int32(clamping: max(10, min(250, Int(limits.ioTimeoutNanos / 10_000_000))))
        var stop = pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)
        while poll(&stop, 1, tick) == 0 || stop.revents == 0 {
            let now = Self.now()
            for clock in clocks { clock.interruptIfLate(now: now) }
            let expired: [LibFCGIConnection] = state.withLock { s in
                var expired: [LibFCGIConnection] = []
                for (id, entry) in s.connections {
                    guard case .parked(let since) = entry.phase else { continue }
                    if since + limits.idleTimeoutNanos <= now || s.graceEnd.map({ now >= $0 }) == true {
                        s.connections[id] = nil
                        s.open -= 1
                        expired.append(entry.connection)
                    }
                }
                rearmListen(&s, now: now)
                return expired
            }
            // Out of the registry already: an event for one of them now finds nothing.
            for connection in expired { connection.close() }
            if !expired.isEmpty { checkDrained() }
        }
    }

    /// Stops accepting (what waits in the kernel's backlog is left for the next instance); kept
    /// connections stay for the drain grace, serving what comes, then close.
    func quiesce() {
        // libfcgi accepts no more either (FCGX_Accept_r on a kept connection the web server
        // closed would otherwise accept a new one).
        FCGX_ShutdownPending()
        state.withLock { s in
            guard s.accepting else { return }
            s.accepting = false
            s.graceEnd = Self.now() + limits.drainGraceNanos
            if s.listenArmed { _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, nil) }
            s.listenArmed = false
        }
        checkDrained()
    }

    private func checkDrained() {
        let now = state.withLock { s -> Bool in
            guard !s.accepting, s.open == 0, !s.drained else { return false }
            s.drained = true
            return true
        }
        if now { onDrained() }
    }

    /// Why accepting failed, if it did (the process then stops once drained).
    var failure: String? { state.withLock { $0.failure } }

    /// The requests being answered, by method and path (a query string may carry what logs
    /// must not).
    func inFlight() -> [String] {
        state.withLock { s in
            s.connections.values.compactMap { entry in
                entry.connection.current.map { "\($0.method.rawValue) \(($0.path ?? "/").prefix { $0 != "?" })" }
            }
        }.sorted()
    }

    static func now() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }
}

/// An I/O thread's deadline for the blocking call it is in; the watchdog interrupts it past it.
final class WorkerClock: @unchecked Sendable {
    /// Set once, before the watchdog starts.
    var thread = pthread_t()
    private let deadline = Mutex<(at: UInt64, io: UInt64)>((0, 0))

    func begin(deadline at: UInt64, io: UInt64) { deadline.withLock { $0 = (at, io) } }
    func end() { deadline.withLock { $0 = (0, 0) } }

    /// Under the lock, so that the signal cannot reach the thread's next call instead: the
    /// thread takes the same lock before it moves on. A call cut short may be followed, inside
    /// the same libfcgi call, by one on a connection accepted next: that one gets a deadline of
    /// its own.
    func interruptIfLate(now: UInt64) {
        deadline.withLock { d in
            guard d.at != 0, d.at <= now else { return }
            pthread_kill(thread, SIGUSR2)
            d.at = now + d.io
        }
    }
}

/// The answers waiting for an I/O thread, first in first out.
struct AnswerQueue {
    private var items: [(LibFCGIConnection, [UInt8]?)] = []
    private var head = 0

    mutating func push(_ item: (LibFCGIConnection, [UInt8]?)) { items.append(item) }

    mutating func pop() -> (LibFCGIConnection, [UInt8]?)? {
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        }
        return item
    }
}

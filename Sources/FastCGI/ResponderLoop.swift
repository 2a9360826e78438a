import CFastCGI
import Glibc
import HTTPTypes
import Logging
import Synchronization

/// The responder loop: libfcgi's blocking calls on I/O threads of its own, driven by readiness.
///
/// One epoll set holds the listening socket (level-triggered, while the loop may accept), every
/// idle kept connection (`EPOLLONESHOT`) and
/// an eventfd that wakes the loop when answers are waiting. One I/O thread at a time is
/// active: it waits in `epoll_wait`, then works through what came, in turn. For the listening
/// socket it calls `FCGX_Accept_r` on a new `FCGX_Request` (the socket is non-blocking: if
/// there was nothing to accept after all, libfcgi says `-EAGAIN`); for a kept connection it
/// calls `FCGX_Accept_r` on that connection's request; either way it reads the params and the
/// body and hands the request to the application (`deliver`). The application's answer comes
/// back through `reply`, and the active thread writes it with `FCGX_PutStr`/`FCGX_Finish_r`,
/// then parks the connection in epoll again if the web server keeps it. No libfcgi call runs
/// on an event loop or on Swift's concurrency pool; an idle kept connection costs a
/// registration, not a thread; under load the active thread rarely sleeps and one `epoll_wait`
/// brings many events (this is what makes libfcgi cheap per request, docs/PERFORMANCE.md).
///
/// A peer that stalls mid-request holds the thread in a blocking read. The watchdog sees the
/// active thread stuck in one call for `handover` (20 ms) and hands the work to a spare thread
/// (started on demand, at most `threads`), which carries on with the events and answers
/// waiting, so one stalled peer delays no other request by more than that; it cuts the stalled
/// call at the I/O deadline by interrupting it with a signal (`SIGUSR2`, installed without
/// `SA_RESTART`: the call fails with `EINTR` and libfcgi drops the connection), and the thread
/// becomes a spare. Idle kept connections are closed after the idle timeout, and, once the
/// loop quiesces, after the drain grace. At most `maxConnections` connections are open; past
/// that the listening socket leaves the epoll set and connections wait in the kernel's backlog.
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
        static let wake: UInt64 = 2
        static let stop: UInt64 = 3
        static let firstConnection: UInt64 = 16
    }

    /// How long the active thread may be in one blocking call before a spare takes over.
    private static let handoverNanos: UInt64 = 20_000_000

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
    /// Wakes the thread in `epoll_wait` when answers are waiting and no thread is working.
    private let wakeFD: Int32
    /// An eventfd written once: every I/O thread and the watchdog leave.
    private let stopFD: Int32
    private let maxConnections: Int
    private let maxThreads: Int
    private let limits: Limits
    private let logger: Logger
    private let deliver: @Sendable (ResponderLoop, LibFCGIConnection, FastCGIRequest) -> Void
    private let onDrained: @Sendable () -> Void
    private let state = Mutex(State())
    private let work = WorkQueue()

    struct SetupError: Error, CustomStringConvertible {
        let description: String
    }

    /// `deliver`: a request read, for the application (called on an I/O thread; must not
    /// block). `onDrained`: after `quiesce()`, called once the last connection has closed.
    init(listenFD: Int32, threads: Int, maxConnections: Int, limits: Limits, logger: Logger,
         deliver: @escaping @Sendable (ResponderLoop, LibFCGIConnection, FastCGIRequest) -> Void,
         onDrained: @escaping @Sendable () -> Void) throws(SetupError) {
        Self.initializeLibFCGI()
        self.listenFD = listenFD
        self.maxConnections = max(1, maxConnections)
        self.limits = limits
        self.logger = logger
        self.deliver = deliver
        self.onDrained = onDrained
        maxThreads = max(1, threads)
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        stopFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard epollFD >= 0, wakeFD >= 0, stopFD >= 0 else { throw SetupError(description: "epoll/eventfd: \(String(cString: strerror(errno)))") }
        guard control(EPOLL_CTL_ADD, wakeFD, events: UInt32(EPOLLIN.rawValue), token: Token.wake),
              control(EPOLL_CTL_ADD, stopFD, events: UInt32(EPOLLIN.rawValue), token: Token.stop) else {
            throw SetupError(description: "epoll_ctl: \(String(cString: strerror(errno)))")
        }
        let armed = state.withLock { s in
            s.listenArmed = control(EPOLL_CTL_ADD, listenFD, events: UInt32(EPOLLIN.rawValue), token: Token.listen)
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

    /// Starts the first I/O thread and the watchdog (spares start when needed).
    func start() {
        work.withLock { w in startThread(&w) }
        _ = Self.spawn { [self] in
            tcb_name_this_thread("fcgi-watchdog")
            watch()
        }
    }

    /// Makes every thread leave (those in a blocking call, at its deadline).
    func stop() {
        var one: UInt64 = 1
        _ = Glibc.write(stopFD, &one, 8)
        work.withLock { w in
            w.stopped = true
            work.broadcast()
        }
    }

    private func startThread(_ w: inout WorkQueue.Shared) {
        let thread = IOThread()
        w.threads.append(thread)
        let index = w.threads.count - 1
        thread.thread = Self.spawn { [self] in
            tcb_name_this_thread("fcgi-io-\(index)")
            run(thread)
        }
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

    /// An I/O thread: answers first, then the events already taken from epoll, then (if no
    /// other thread does) `epoll_wait`; else it waits as a spare.
    private func run(_ me: IOThread) {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { scratch.deallocate() }
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        work.lock()
        while !work.shared.stopped {
            if let answer = work.shared.replies.pop() {
                me.phase = .working
                work.unlock()
                write(answer, me)
                work.lock()
            } else if let token = work.shared.ready.pop() {
                me.phase = .working
                work.unlock()
                handle(token, me, scratch)
                work.lock()
            } else if !work.shared.polling {
                work.shared.polling = true
                me.phase = .polling
                work.unlock()
                let n = events.withUnsafeMutableBufferPointer { epoll_wait(epollFD, $0.baseAddress, Int32($0.count), -1) }
                work.lock()
                work.shared.polling = false
                for event in events.prefix(max(0, Int(n))) {
                    switch event.data.u64 {
                    case Token.stop: work.shared.stopped = true
                    case Token.wake:
                        var count: UInt64 = 0
                        _ = read(wakeFD, &count, 8)
                    case let token: work.shared.ready.push(token)
                    }
                }
            } else {
                me.phase = .spare
                work.wait()
            }
        }
        me.phase = .spare
        work.broadcast()
        work.unlock()
    }

    private func handle(_ token: UInt64, _ me: IOThread, _ scratch: UnsafeMutableRawBufferPointer) {
        switch token {
        case Token.listen: acceptOne(me, scratch)
        default: readNext(token, me, scratch)
        }
    }

    // MARK: requests in

    private func acceptOne(_ clock: IOThread, _ scratch: UnsafeMutableRawBufferPointer) {
        let now = Self.now()
        let id: UInt64? = state.withLock { s in
            guard s.accepting, s.open < maxConnections else { return nil }
            s.open += 1
            s.nextID += 1
            // Full: the next ones wait in the kernel's backlog until a connection closes.
            if s.open >= maxConnections { disarmListen(&s) }
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
            if transient {
                // Out of descriptors: the socket stays readable, so it leaves epoll for a moment.
                s.retryListenAt = Self.now() + 100_000_000
                disarmListen(&s)
            }
            if fatal { s.failure = s.failure ?? "accept: \(String(cString: strerror(error)))" }
            rearmListen(&s, now: Self.now())
        }
        if fatal { quiesce() }
        checkDrained()
    }

    private var isQuiescing: Bool { state.withLock { !$0.accepting } }

    /// A parked kept connection became readable: its next request (or its end).
    private func readNext(_ id: UInt64, _ clock: IOThread, _ scratch: UnsafeMutableRawBufferPointer) {
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
    private func serve(_ connection: LibFCGIConnection, _ clock: IOThread, _ scratch: UnsafeMutableRawBufferPointer) {
        let read = connection.read(limits: limits, scratch: scratch)
        clock.end()
        switch read {
        case .broken:
            closeConnection(connection)
        case .request(let request):
            state.withLock { _ in connection.current = request.head }
            deliver(self, connection, request)
        }
    }

    // MARK: answers out

    /// The application's answer to the request the connection delivered (nil: abandoned,
    /// the connection closes unanswered). Any thread; does not block: the active I/O thread
    /// takes it after what it is doing, or, waiting in epoll, is woken for it.
    func reply(_ connection: LibFCGIConnection, _ cgi: [UInt8]?) {
        let wake = work.withLock { w in
            w.replies.push((connection, cgi))
            return w.polling && !w.threads.contains { $0.phase == .working }
        }
        if wake {
            var one: UInt64 = 1
            _ = Glibc.write(wakeFD, &one, 8)
        }
    }

    private func write(_ answer: (LibFCGIConnection, [UInt8]?), _ clock: IOThread) {
        let (connection, cgi) = answer
        guard let cgi else {
            closeConnection(connection)
            return
        }
        clock.begin(deadline: Self.now() + limits.ioTimeoutNanos, io: limits.ioTimeoutNanos)
        connection.finish(with: cgi)
        clock.end()
        park(connection)
    }

    /// After an answer: a kept connection waits in epoll for its next request; one the web
    /// server did not keep (or that failed, or that the drain grace ended) is closed.
    private func park(_ connection: LibFCGIConnection) {
        let fd = connection.descriptor
        let parked: Bool = state.withLock { s in
            connection.current = nil
            guard fd >= 0 else { return false }
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
            connection.current = nil
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
        s.listenArmed = control(EPOLL_CTL_ADD, listenFD, events: UInt32(EPOLLIN.rawValue), token: Token.listen)
    }

    private func disarmListen(_ s: inout State) {
        if s.listenArmed { _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, nil) }
        s.listenArmed = false
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
        var stop = pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)
        var nextExpiry: UInt64 = 0
        while poll(&stop, 1, Int32(Self.handoverNanos / 2_000_000)) == 0 || stop.revents == 0 {
            let now = Self.now()
            handOver(now: now)
            // Idle kept connections: a scan every 100 ms is plenty for timeouts of seconds.
            guard now >= nextExpiry else { continue }
            nextExpiry = now + 100_000_000
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

    /// Interrupts calls past their deadline, and when every working thread is stuck in a call
    /// (and none waits in epoll, or work is waiting), gets another thread going: a spare, the
    /// one in epoll (woken), or a new one up to `maxThreads`.
    private func handOver(now: UInt64) {
        work.withLock { w in
            for thread in w.threads { thread.interruptIfLate(now: now) }
            guard !w.stopped else { return }
            // A working thread that is not stuck will get to what waits.
            if w.threads.contains(where: { $0.phase == .working && !$0.isStuck(now: now, after: Self.handoverNanos) }) { return }
            // One in epoll takes what comes next; only what already waits needs a hand.
            if w.polling && w.replies.isEmpty && w.ready.isEmpty { return }
            if w.threads.contains(where: { $0.phase == .spare }) {
                work.signal()
            } else if w.polling {
                var one: UInt64 = 1
                _ = Glibc.write(wakeFD, &one, 8)
            } else if w.threads.count < maxThreads {
                startThread(&w)
            }
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
            disarmListen(&s)
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

/// An I/O thread: what it is doing (under the work queue's lock), and its deadline for the
/// blocking call it is in (the watchdog interrupts it past it, and hands over when it is stuck).
final class IOThread: @unchecked Sendable {
    enum Phase { case working, polling, spare }

    /// Set once, before the watchdog looks at it (under the work queue's lock).
    var thread = pthread_t()
    /// Under the work queue's lock.
    var phase = Phase.working
    private let call = Mutex<(deadline: UInt64, io: UInt64, since: UInt64)>((0, 0, 0))

    func begin(deadline: UInt64, io: UInt64) {
        let since = ResponderLoop.now()
        call.withLock { $0 = (deadline, io, since) }
    }

    func end() { call.withLock { $0 = (0, 0, 0) } }

    func isStuck(now: UInt64, after: UInt64) -> Bool {
        call.withLock { $0.since != 0 && $0.since + after <= now }
    }

    /// Under the lock, so that the signal cannot reach the thread's next call instead: the
    /// thread takes the same lock before it moves on. A call cut short may be followed, inside
    /// the same libfcgi call, by one on a connection accepted next: that one gets a deadline of
    /// its own.
    func interruptIfLate(now: UInt64) {
        call.withLock { c in
            guard c.deadline != 0, c.deadline <= now else { return }
            pthread_kill(thread, SIGUSR2)
            c.deadline = now + c.io
        }
    }
}

/// What the I/O threads share: the events taken from epoll and not yet handled, the answers
/// waiting, who polls; a pthread mutex and condition (spares wait on it).
final class WorkQueue: @unchecked Sendable {
    struct Shared {
        var ready = FIFO<UInt64>()
        var replies = FIFO<(LibFCGIConnection, [UInt8]?)>()
        var polling = false
        var stopped = false
        var threads: [IOThread] = []
    }

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Only with the lock held.
    var shared = Shared()

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    /// With the lock held.
    func wait() { pthread_cond_wait(condition, mutex) }
    func signal() { pthread_cond_signal(condition) }
    func broadcast() { pthread_cond_broadcast(condition) }

    func withLock<T>(_ body: (inout Shared) -> T) -> T {
        lock()
        defer { unlock() }
        return body(&shared)
    }
}

/// First in, first out.
struct FIFO<Element> {
    private var items: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }

    mutating func push(_ item: Element) { items.append(item) }

    mutating func pop() -> Element? {
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

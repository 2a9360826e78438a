import CFastCGI
import Foundation
import Glibc
import HTTPTypes
import Logging
import Responder
import Synchronization

/// Limits of the FastCGI transport.
public struct FastCGIServerConfiguration: Sendable {
    /// Largest body accepted; larger ones are answered 413 by the application.
    public var maxBodyBytes: Int = 1 << 20
    /// The largest body for one request, from its head (a route may take more than
    /// `maxBodyBytes`); nil: `maxBodyBytes` for every request.
    public var bodyLimit: (@Sendable (HTTPRequest) -> Int)?
    /// Requests accepted but not yet answered; past this, new connections wait in the kernel backlog.
    public var maxInFlight: Int = 1024
    /// Deadline for a peer to deliver params and body (and to take the response).
    public var ioTimeoutMilliseconds: Int = 5_000
    /// Threads that read requests off accepted connections. A stalled peer pins one for at most the deadline.
    public var readerThreads: Int = 4

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

/// A FastCGI responder server on libfcgi.
///
/// One thread accepts connections (poll on the listening socket and a wake pipe, so
/// stopping never needs signals nor `shutdown()` of a socket that systemd shares with the
/// next instance). Reader threads let libfcgi parse params and read the body under a
/// deadline; each request then runs in its own task, which writes the response and
/// finishes the request.
public final class FastCGIServer: Sendable {
    private let listenFD: Int32
    private let configuration: FastCGIServerConfiguration
    private let responder: any Responder
    private let failureResponder: any TransportFailureResponder
    private let logger: Logger
    private let wakePipe: (read: Int32, write: Int32)
    private let state = Mutex(State())
    private let queue = ConnectionQueue()
    private let slots: DispatchSemaphore
    private let acceptExited = DispatchSemaphore(value: 0)

    private struct State {
        var stopping = false
        /// Connections accepted and not yet answered (queued, being read, or in a task).
        var inFlight = 0
        /// Requests handed to a task (nil: a malformed one), for the shutdown report.
        var active: [UInt64: HTTPRequest?] = [:]
        var nextId: UInt64 = 0
    }

    public init(
        listenFD: Int32, configuration: FastCGIServerConfiguration, responder: any Responder,
        failureResponder: any TransportFailureResponder, logger: Logger
    ) {
        self.listenFD = listenFD
        self.configuration = configuration
        self.responder = responder
        self.failureResponder = failureResponder
        self.logger = logger
        self.slots = DispatchSemaphore(value: max(1, configuration.maxInFlight))
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        self.wakePipe = (fds[0], fds[1])
    }

    /// Initialises libfcgi once per process. Lingering close defaults to 0 ms: the whole
    /// body is read before answering, so nothing is lost by closing at once.
    public static func initializeLibrary() {
        setenv("LIBFCGI_OS_CLOSE_POLL_TIMEOUT", "0", 0)
        _ = FCGX_Init()
    }

    /// Requests accepted and not yet answered.
    public var inFlight: Int { state.withLock { $0.inFlight } }

    /// Starts the accept thread and the reader threads; returns at once.
    public func start() {
        let acceptThread = Thread { [self] in acceptLoop() }
        acceptThread.name = "fcgi-accept"
        acceptThread.start()
        for i in 0..<max(1, configuration.readerThreads) {
            let reader = Thread { [self] in readerLoop() }
            reader.name = "fcgi-reader-\(i)"
            reader.start()
        }
    }

    /// Stops accepting, lets the requests in flight finish, and returns those still
    /// unfinished when `timeout` ran out ("METHOD URI", or "connection being read"); empty
    /// means a clean drain.
    public func shutdown(timeout: Duration) -> [String] {
        state.withLock { $0.stopping = true }
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
        acceptExited.wait()
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if inFlight == 0 { break }
            usleep(5_000)
        }
        queue.close()
        return state.withLock { s in
            // Method and path only: a query string may carry what logs must not.
            let named = s.active.sorted { $0.key < $1.key }.map { _, head in
                head.map { "\($0.method.rawValue) \(($0.path ?? "/").prefix { $0 != "?" })" } ?? "malformed request"
            }
            return named + Array(repeating: "connection being read", count: max(0, s.inFlight - named.count))
        }
    }

    // MARK: accept

    private func acceptLoop() {
        defer { acceptExited.signal() }
        var peekBuffer = [UInt8](repeating: 0, count: Self.peekBytes)
        var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0)]
        while true {
            // A free slot first, so that overload waits in the kernel backlog.
            while slots.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
                if state.withLock({ $0.stopping }) { return }
            }
            var gotConnection = false
            while !gotConnection {
                if state.withLock({ $0.stopping }) { slots.signal(); return }
                fds[0].revents = 0; fds[1].revents = 0
                let rc = poll(&fds, 2, -1)
                if rc < 0 {
                    if errno == EINTR { continue }
                    logger.critical("poll on the listening socket failed", metadata: ["errno": "\(errno)"])
                    slots.signal(); return
                }
                if fds[1].revents != 0 { slots.signal(); return }
                if fds[0].revents == 0 { continue }
                let fd = accept(listenFD, nil, nil)
                if fd < 0 {
                    // EAGAIN: another instance on the same socket took it. Others are transient.
                    if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                        logger.warning("accept failed", metadata: ["errno": "\(errno)"])
                        usleep(1_000)
                    }
                    continue
                }
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                setDeadlines(fd)
                state.withLock { $0.inFlight += 1 }
                // nginx writes the whole request at once: when it is all buffered already,
                // reading it here cannot block, and saves a hand-off to a reader thread.
                if Self.holdsCompleteRequest(fd, scratch: &peekBuffer) {
                    readRequest(on: fd)
                } else {
                    queue.push(fd)
                }
                gotConnection = true
            }
        }
    }

    static let peekBytes = 16 * 1024

    /// Whether the socket already holds a whole FastCGI request: well-formed records up to
    /// the empty STDIN record that ends it. Looks without consuming (MSG_PEEK) and without
    /// waiting; anything else (not there yet, too big to peek, not FastCGI) takes the slow
    /// path, where reads have a deadline.
    static func holdsCompleteRequest(_ fd: Int32, scratch: inout [UInt8]) -> Bool {
        let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_PEEK | MSG_DONTWAIT)) }
        guard n > 0 else { return false }
        return FastCGIRecords.endsRequest(scratch.prefix(n))
    }

    private func setDeadlines(_ fd: Int32) {
        let ms = configuration.ioTimeoutMilliseconds
        var tv = timeval(tv_sec: ms / 1000, tv_usec: (ms % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    private func release(activeId: UInt64? = nil) {
        state.withLock {
            $0.inFlight -= 1
            if let activeId { $0.active[activeId] = nil }
        }
        slots.signal()
    }

    // MARK: read

    private func readerLoop() {
        while let fd = queue.pop() {
            readRequest(on: fd)
        }
    }

    private func readRequest(on fd: Int32) {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        // No listening socket of libfcgi's own: we accepted the connection ourselves and
        // hand it over as the request's connection, kept open so libfcgi reads from it
        // instead of calling accept(). If the peer fails to send a valid request in time,
        // libfcgi closes the connection and its accept() on -1 returns at once.
        FCGX_InitRequest(request, -1, 0)
        request.pointee.ipcFd = fd
        request.pointee.keepConnection = 1
        if FCGX_Accept_r(request) < 0 {
            if request.pointee.ipcFd >= 0 { FCGX_Free(request, 1) }
            request.deallocate()
            release()
            return
        }
        let head = Result { () throws(FastCGIRequestMapper.MappingError) in try FastCGIRequestMapper.makeHead(params: Self.params(of: request)) }
        let declared = (try? head.get())?.headerFields[.contentLength].flatMap { Int($0) } ?? 0
        let limit = (try? head.get()).flatMap { h in configuration.bodyLimit?(h) } ?? configuration.maxBodyBytes
        var body: [UInt8] = []
        let tooLarge = !readBody(request, declaredLength: declared, limit: limit, into: &body)
        if FCGX_GetError(request.pointee.in) != 0 {
            // The peer stalled or vanished mid-body: nobody to answer.
            FCGX_Free(request, 1)
            request.deallocate()
            release()
            return
        }
        // Everything is read: let libfcgi free its buffers now (they would otherwise be held
        // through the upstream calls) and keep only the connection and the request id.
        let connection = ResponseConnection(fd: request.pointee.ipcFd, requestId: UInt16(truncatingIfNeeded: request.pointee.requestId))
        FCGX_Free(request, 0)
        request.deallocate()
        let activeId = state.withLock { s in
            s.nextId += 1
            s.active[s.nextId] = try? head.get()
            return s.nextId
        }
        Task { [self] in
            let response: Response
            switch head {
            case .success(let head):
                if tooLarge {
                    response = await failureResponder.respond(to: .bodyTooLarge(limit: limit), head: head)
                } else {
                    response = await responder.respond(to: Request(head: head, body: body))
                }
            case .failure(let error):
                response = await failureResponder.respond(to: .malformedRequest("\(error)"), head: nil)
            }
            connection.finish(with: FastCGIResponseWriter.serialize(response))
            release(activeId: activeId)
        }
    }

    /// Reads the body announced by `CONTENT_LENGTH` (CGI semantics: none without it); false
    /// when it is larger than the cap. Either way the input stream is then consumed to its end
    /// (the empty STDIN record; bounded): a unix socket closed with unread data resets its
    /// peer, and nginx would answer 502 instead of relaying our response.
    private func readBody(_ request: UnsafeMutablePointer<FCGX_Request>, declaredLength: Int, limit: Int, into body: inout [UInt8]) -> Bool {
        let fits = declaredLength <= limit
        if declaredLength > 0 && fits {
            body = [UInt8](unsafeUninitializedCapacity: declaredLength) { buffer, count in
                var offset = 0
                buffer.withMemoryRebound(to: CChar.self) { chars in
                    while offset < declaredLength {
                        let n = FCGX_GetStr(chars.baseAddress! + offset, Int32(declaredLength - offset), request.pointee.in)
                        if n <= 0 { break }
                        offset += Int(n)
                    }
                }
                count = offset
            }
        }
        let drainLimit = max(limit, 1) * 16
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: fits ? 512 : 64 * 1024) { sink in
            var drained = 0
            while drained <= drainLimit {
                let n = FCGX_GetStr(sink.baseAddress, Int32(sink.count), request.pointee.in)
                if n <= 0 { break }
                drained += Int(n)
            }
        }
        return fits
    }

    /// Copies the params the mapping uses (`HTTP_*` and a few CGI variables): libfcgi frees
    /// them with the request. The others (DOCUMENT_ROOT, SERVER_SOFTWARE, …) are skipped
    /// without building a String.
    static func params(of request: UnsafeMutablePointer<FCGX_Request>) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        result.reserveCapacity(16)
        guard var p = request.pointee.envp else { return result }
        while let entry = p.pointee {
            let length = strlen(entry)
            entry.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
                let buffer = UnsafeBufferPointer(start: bytes, count: length)
                guard let eq = buffer.firstIndex(of: UInt8(ascii: "=")) else { return }
                let name = UnsafeBufferPointer(rebasing: buffer[..<eq])
                guard FastCGIRequestMapper.isMapped(name) else { return }
                result.append((String(decoding: name, as: UTF8.self), String(decoding: buffer[(eq + 1)...], as: UTF8.self)))
            }
            p += 1
        }
        return result
    }
}

/// The connection of a request that has been read, crossing into the task that answers it:
/// the descriptor and the request id, nothing of libfcgi's. Exactly one task owns it.
struct ResponseConnection: Sendable {
    let fd: Int32
    let requestId: UInt16

    /// Writes the response records in one go (the socket has a send deadline), then closes.
    func finish(with payload: [UInt8]) {
        let bytes = FastCGIResponseRecords.frame(payload, requestId: requestId)
        bytes.withUnsafeBytes { p in
            var offset = 0
            while offset < p.count {
                let n = write(fd, p.baseAddress! + offset, p.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }  // the peer is gone or stalled past the deadline
                offset += n
            }
        }
        // Half-close first, as libfcgi does, so the web server reads the end of the response
        // before it learns of the close.
        shutdown(fd, Int32(SHUT_WR))
        close(fd)
    }
}

/// Accepted connections waiting for a reader thread.
final class ConnectionQueue: Sendable {
    private let condition = NSCondition()
    private nonisolated(unsafe) var fds: [Int32] = []
    private nonisolated(unsafe) var closed = false

    func push(_ fd: Int32) {
        condition.lock(); fds.append(fd); condition.signal(); condition.unlock()
    }

    /// The next connection, or nil once closed and empty.
    func pop() -> Int32? {
        condition.lock(); defer { condition.unlock() }
        while fds.isEmpty && !closed { condition.wait() }
        return fds.isEmpty ? nil : fds.removeFirst()
    }

    func close() {
        condition.lock(); closed = true; condition.broadcast(); condition.unlock()
    }
}

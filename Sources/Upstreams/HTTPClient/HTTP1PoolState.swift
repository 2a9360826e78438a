import NIOCore

/// The connections to one origin from one event loop, as decisions over plain values: which
/// connection a request gets, when to open another, who waits and who is served next, which
/// idle connection is too old to trust. Its driver carries out what it returns, so it is
/// tested without sockets (the shape of async-http-client's connection state machines).
///
/// At most `limit` connections are open or opening; a request past that waits, first come
/// first served. An idle connection older than `idleTimeout` is closed rather than reused:
/// servers close idle keep-alive connections (Node's default is after 5 s), and a request
/// written into one that the server is closing at that moment is lost.
struct HTTP1PoolState<Connection: Hashable, Waiter: Hashable> {
    enum Lease: Equatable {
        case reuse(Connection)
        case connect
        case wait
    }

    enum Next: Equatable {
        case nothing
        case serve(Waiter, on: Connection)
        case connect(for: Waiter)
        case close(Connection)
    }

    let limit: Int
    let idleTimeout: TimeAmount
    private(set) var idle: [(connection: Connection, since: NIODeadline)] = []
    private(set) var busy: Set<Connection> = []
    private(set) var connecting = 0
    private(set) var waiting: [Waiter] = []

    init(limit: Int, idleTimeout: TimeAmount) {
        self.limit = max(1, limit)
        self.idleTimeout = idleTimeout
    }

    var open: Int { idle.count + busy.count + connecting }

    /// A request wants a connection; `fresh` (a retry after a reused connection died) skips
    /// idle ones. `expired`: idle connections to close now (no longer counted).
    mutating func lease(for waiter: Waiter, fresh: Bool = false, now: NIODeadline) -> (lease: Lease, expired: [Connection]) {
        var expired: [Connection] = []
        while let last = idle.last {
            if fresh || now - last.since >= idleTimeout {
                // Oldest first would be kinder to the server, but they are all closed anyway.
                expired.append(idle.removeLast().connection)
                continue
            }
            idle.removeLast()
            busy.insert(last.connection)
            return (.reuse(last.connection), expired)
        }
        if open < limit {
            connecting += 1
            return (.connect, expired)
        }
        waiting.append(waiter)
        return (.wait, expired)
    }

    /// A connection opened for the request that asked for it.
    mutating func connected(_ connection: Connection) {
        connecting -= 1
        busy.insert(connection)
    }

    /// Opening failed: a waiter may try in its place.
    mutating func connectFailed() -> Next {
        connecting -= 1
        return connectForNextWaiter()
    }

    /// A request is done with its connection: the next waiter gets it, or it idles; one that
    /// cannot be reused is closed (and `closed` follows).
    mutating func released(_ connection: Connection, reusable: Bool, now: NIODeadline) -> Next {
        guard busy.contains(connection) else { return .nothing }
        guard reusable else { return .close(connection) }
        if !waiting.isEmpty { return .serve(waiting.removeFirst(), on: connection) }
        busy.remove(connection)
        idle.append((connection, now))
        return .nothing
    }

    /// A connection closed (by either side): its place goes to a waiter.
    mutating func closed(_ connection: Connection) -> Next {
        if busy.remove(connection) == nil {
            guard let i = idle.firstIndex(where: { $0.connection == connection }) else { return .nothing }
            idle.remove(at: i)
        }
        return connectForNextWaiter()
    }

    /// A waiter gave up (its deadline passed).
    mutating func cancel(_ waiter: Waiter) {
        if let i = waiting.firstIndex(of: waiter) { waiting.remove(at: i) }
    }

    /// Every idle connection, to close at shutdown (no longer counted).
    mutating func drainIdle() -> [Connection] {
        defer { idle.removeAll() }
        return idle.map(\.connection)
    }

    private mutating func connectForNextWaiter() -> Next {
        guard open < limit, !waiting.isEmpty else { return .nothing }
        connecting += 1
        return .connect(for: waiting.removeFirst())
    }
}

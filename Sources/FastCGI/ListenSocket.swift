import Glibc

/// Where the FastCGI listening socket comes from.
public enum ListenSocket: Sendable, Equatable {
    /// A unix socket path this process creates (and unlinks first).
    case unix(path: String)
    /// IPv4 TCP `host:port` (an empty host binds every interface).
    case tcp(host: String, port: UInt16)
    /// A socket already listening, handed over by the parent (systemd, spawn-fcgi).
    case inherited(fd: Int32)

    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case invalid(String)
        public var description: String {
            switch self { case .invalid(let s): return "invalid socket address \"\(s)\": expected a path or HOST:PORT" }
        }
    }

    /// A path when it contains `/`, else `HOST:PORT`.
    public static func parse(_ text: String) throws(ParseError) -> ListenSocket {
        if text.contains("/") { return .unix(path: text) }
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0 else {
            throw .invalid(text)
        }
        return .tcp(host: String(text[..<colon]), port: port)
    }

    /// The descriptor the parent handed over: `LISTEN_FDS` style (fd 3) when
    /// `LISTEN_PID` names this process, else fd 0 when it is a listening socket.
    public static func inheritedFromParent(environment: [String: String]) -> ListenSocket? {
        if let fds = environment["LISTEN_FDS"], let n = Int(fds), n >= 1,
           environment["LISTEN_PID"].flatMap(Int32.init) == getpid(), isListeningSocket(3) {
            return .inherited(fd: 3)
        }
        if isListeningSocket(0) { return .inherited(fd: 0) }
        return nil
    }

    static func isListeningSocket(_ fd: Int32) -> Bool {
        var value: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len) == 0 && value != 0
    }

    public struct OpenError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Opens (or adopts) the socket; returns a listening, close-on-exec, non-blocking
    /// descriptor (non-blocking because another instance may win the race for a
    /// connection that poll() announced; accepted sockets do not inherit the flag).
    /// `socketGroup`: the group a unix socket created here is given (nginx's, `www-data`).
    public func open(backlog: Int32 = 4096, socketGroup: String? = "www-data") throws(OpenError) -> Int32 {
        let fd = try openBlocking(backlog: backlog, socketGroup: socketGroup)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return fd
    }

    private func openBlocking(backlog: Int32, socketGroup: String?) throws(OpenError) -> Int32 {
        switch self {
        case .inherited(let fd):
            guard Self.isListeningSocket(fd) else { throw OpenError(description: "fd \(fd) is not a listening socket") }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            return fd
        case .unix(let path):
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw OpenError(description: "socket(): \(String(cString: strerror(errno)))") }
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
                close(fd); throw OpenError(description: "socket path too long: \(path)")
            }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                for (i, b) in bytes.enumerated() { raw[i] = b }
                raw[bytes.count] = 0
            }
            unlink(path)
            // Group-writable so nginx's user (in the socket's group) can connect.
            let old = umask(0o117)
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            umask(old)
            guard rc == 0 else {
                let e = String(cString: strerror(errno)); close(fd)
                throw OpenError(description: "bind(\(path)): \(e)")
            }
            chmod(path, 0o660)
            if let group = socketGroup, let entry = getgrnam(group) {
                // nginx's workers reach the socket through its group; failing (not root) is fine
                // when the process already runs in that group.
                _ = chown(path, uid_t.max, entry.pointee.gr_gid)
            }
            guard listen(fd, backlog) == 0 else {
                let e = String(cString: strerror(errno)); close(fd)
                throw OpenError(description: "listen(\(path)): \(e)")
            }
            return fd
        case .tcp(let host, let port):
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw OpenError(description: "socket(): \(String(cString: strerror(errno)))") }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            let h = host.isEmpty ? "0.0.0.0" : (host == "localhost" ? "127.0.0.1" : host)
            guard inet_pton(AF_INET, h, &addr.sin_addr) == 1 else {
                close(fd); throw OpenError(description: "invalid IPv4 address: \(host)")
            }
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else {
                let e = String(cString: strerror(errno)); close(fd)
                throw OpenError(description: "bind(\(host):\(port)): \(e)")
            }
            guard listen(fd, backlog) == 0 else {
                let e = String(cString: strerror(errno)); close(fd)
                throw OpenError(description: "listen(\(host):\(port)): \(e)")
            }
            return fd
        }
    }
}

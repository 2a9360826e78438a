import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Glibc
import StrictJSON
import Synchronization
import Testing

/// Paths of the package and its built binaries.
enum Paths {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static let bin = ProcessInfo.processInfo.environment["BIN_PATH"] ?? root + "/.build/debug"
    static let app = bin + "/teleconsultation-backend"
    /// The release binary (static Swift runtime) that packages are made of; set by the test command.
    static let release = ProcessInfo.processInfo.environment["RELEASE_BIN"]
    static let emulator = bin + "/upstream-emulator"
}

/// A free TCP port on loopback (bound then released).
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A TCP connection to 127.0.0.1:`port` (the caller closes it); nil when refused.
func connectToLoopback(port: Int) -> Int32? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    let connected = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { close(fd); return nil }
    return fd
}

func tempDir(_ name: String) -> String {
    let dir = NSTemporaryDirectory() + "tcb-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A child process with its stdout and stderr captured to files.
final class Child: @unchecked Sendable {
    let spawned: Spawned
    let name: String
    /// Where its output files are (the directory its waits watch).
    let dir: String
    let stderrPath: String
    let stdoutPath: String

    /// The children still running and their directories: what a wait that names nothing watches.
    private static let running = Mutex<[(dir: String, process: Spawned)]>([])
    static var live: [(dir: String, process: Spawned)] {
        running.withLock { list in
            list.removeAll { !$0.process.isRunning }
            return list
        }
    }

    init(_ path: String, _ args: [String], env: [String: String], dir: String, name: String, stdin: Int32? = nil) throws {
        // Proxy variables of the machine the tests run on never reach a child: a test sets its own.
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("LISTEN_") && !["http_proxy", "https_proxy", "no_proxy", "all_proxy"].contains($0.key.lowercased())
        }
        for (k, v) in env { environment[k] = v }
        self.name = name
        self.dir = dir
        stderrPath = "\(dir)/\(name).err"
        stdoutPath = "\(dir)/\(name).out"
        spawned = try Spawned(path, args, environment: environment, stdout: stdoutPath, stderr: stderrPath, stdin: stdin)
        let spawned = spawned
        Self.running.withLock { $0.append((dir, spawned)) }
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var isRunning: Bool { spawned.isRunning }
    var exitStatus: Int32? { spawned.exitStatus }

    func signal(_ sig: Int32) { kill(spawned.pid, sig) }

    /// Waits for the exit (its pidfd); nil when it did not exit in time: then the test fails,
    /// naming the child, and the child is killed.
    func waitForExit(timeout: Double = 20) -> Int32? {
        if let status = exitStatus(within: timeout) { return status }
        Issue.record("\(name) (pid \(spawned.pid)) did not exit within \(timeout) s: killed. Its stderr: \(stderr.suffix(2000))")
        return nil
    }

    /// The exit status within `timeout` seconds, else nil after killing it (SIGKILL, whose end
    /// is awaited for at most 5 s more).
    func exitStatus(within timeout: Double) -> Int32? {
        if let status = spawned.exitStatus(before: .now + .seconds(timeout)) { return status }
        kill(spawned.pid, SIGKILL)
        _ = spawned.exitStatus(before: .now + .seconds(5))
        return nil
    }

    /// SIGTERM, then SIGKILL after 10 s: cleanup, whatever the test's outcome (it judges no exit).
    func stop() {
        if isRunning { signal(SIGTERM); _ = exitStatus(within: 10) }
    }
}

/// Waits until `condition` holds, checking it again on each event (see `EventWait`): a change
/// in one of `directories` or the exit of one of `children`; by default every running child's
/// directory (its log lines, a socket or pid file made there) and exit. False once `timeout`
/// seconds ran out.
func waitUntil(timeout: Double = 15, watching directories: [String]? = nil, exits children: [Child]? = nil,
               _ condition: () -> Bool) -> Bool {
    let live = directories == nil || children == nil ? Child.live : []
    return EventWait.until(.now + .seconds(timeout), directories: directories ?? live.map(\.dir),
                           children: children?.map(\.spawned) ?? live.map(\.process), condition)
}

struct HTTPAnswer: Sendable {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: JSONValue? { try? JSONParser.parse(body) }
}

/// Plain HTTP over loopback.
func http(_ method: String, _ url: String, headers: [String: String] = [:], body: String? = nil, bytes: [UInt8]? = nil,
          timeout: Double = 30) async throws -> HTTPAnswer {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    request.timeoutInterval = timeout
    for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
    if let body { request.httpBody = Data(body.utf8); if headers["content-type"] == nil { request.setValue("application/json", forHTTPHeaderField: "content-type") } }
    if let bytes { request.httpBody = Data(bytes) }
    let (data, response) = try await Stack.session.data(for: request)
    let r = response as! HTTPURLResponse
    var h: [String: String] = [:]
    for (k, v) in r.allHeaderFields { h[String(describing: k).lowercased()] = String(describing: v) }
    return HTTPAnswer(status: r.statusCode, headers: h, body: Array(data))
}

/// Which dialect of the provider's API the app speaks (chosen, as in production, by the
/// path of BANDYER_BASE_URL), and where each provider call shows up in the stand-in's log.
enum Dialect: String, CaseIterable, Sendable, CustomStringConvertible {
    case v1, v2

    var description: String { rawValue }
    /// BANDYER_BASE_URL's path on the stand-in.
    var bandyerBase: String { self == .v1 ? "/bandyer" : "/bandyer/v2" }

    /// A provider call: its method and (the start of) its path after `/bandyer`.
    struct Call: Sendable {
        let method: String
        let path: String
    }

    var createUser: Call { self == .v1 ? Call(method: "POST", path: "/user/create") : Call(method: "POST", path: "/v2/users") }
    var createRoom: Call { self == .v1 ? Call(method: "POST", path: "/room/create") : Call(method: "POST", path: "/v2/rooms") }
    func deleteRoom(_ id: String = "") -> Call { self == .v1 ? Call(method: "DELETE", path: "/room/delete/\(id)") : Call(method: "DELETE", path: "/v2/rooms/\(id)") }
    func roomInfo(_ id: String = "") -> Call { self == .v1 ? Call(method: "GET", path: "/room/info/\(id)") : Call(method: "GET", path: "/v2/rooms/\(id)") }
    var sdkCredentials: Call { Call(method: "POST", path: self == .v1 ? "/sdk/credentials" : "/v2/sdk/credentials") }
    func listUploads(_ room: String) -> Call { self == .v1 ? Call(method: "GET", path: "/room/\(room)/upload/list") : Call(method: "GET", path: "/v2/uploads") }
    func deleteUpload(_ encodedKey: String = "") -> Call { Call(method: "DELETE", path: (self == .v1 ? "/upload/" : "/v2/uploads/") + encodedKey) }
    var virtualBackground: Call { Call(method: "POST", path: self == .v1 ? "/company/virtual-background" : "/v2/company/virtual-background") }
    var companyUpdate: Call { self == .v1 ? Call(method: "POST", path: "/company/update") : Call(method: "PUT", path: "/v2/company") }
    /// Where a room answer carries its links.
    var linksKey: String { self == .v1 ? "user_urls" : "participants" }

    /// The fields of a fault that matches `call`.
    func fault(_ call: Call) -> String { #""service":"bandyer","method":"\#(call.method)","path":"\#(call.path)""# }
}

/// Which shipped nginx file is in front.
enum NginxProfile: Sendable, Equatable, CustomStringConvertible {
    /// deploy/nginx.conf: identity from auth0-client through the app's identity route.
    case edge
    /// deploy/nginx-behind-gateway.conf: the identity headers as the gateway (here: the test) sends them.
    case gateway
    /// An edge profile installed elsewhere (by the package).
    case installedEdge(path: String)

    var argument: String {
        switch self {
        case .edge: return "edge"
        case .gateway: return "gateway"
        case .installedEdge(let path): return path
        }
    }
    var isEdge: Bool { self != .gateway }
    var description: String { argument }
}

/// The emulator, the real app binary on a unix socket, and nginx with a shipped config.
final class Stack: @unchecked Sendable {
    static let session: URLSession = {
        let c = URLSessionConfiguration.ephemeral
        c.httpMaximumConnectionsPerHost = 512
        c.timeoutIntervalForRequest = 60
        return URLSession(configuration: c)
    }()

    let dir: String
    let emulator: Child
    /// The app instances (one per socket), all behind the one nginx.
    var apps: [Child] = []
    var app: Child? { apps.first }
    var nginx: Child?
    let emulatorURL: String
    private(set) var port: Int
    let socketPath: String
    var appEnv: [String: String]

    var base: String { "http://127.0.0.1:\(port)/api/v1/telecons-be" }

    static let key = "e2e-bandyer-key"

    let instances: Int
    /// With `holdSocket`, this process holds the listening socket, as systemd does, and
    /// each app instance gets it as fd 0.
    var heldSocket: Int32?

    let profile: NginxProfile

    /// The app binary the stack runs (the build's, or an installed one).
    let appPath: String
    let dialect: Dialect
    /// The secret nginx sends and the app requires (FCGI_PEER_SECRET_FILE), as the package sets them up.
    let peerSecret: String?

    init(name: String, auth0: Bool = false, env: [String: String] = [:], instances: Int = 1, holdSocket: Bool = false,
         profile: NginxProfile = .gateway, appPath: String = Paths.app, dialect: Dialect = .v1, peerSecret: String? = nil) throws {
        self.appPath = appPath
        self.dialect = dialect
        self.peerSecret = peerSecret
        self.instances = instances
        self.profile = profile
        dir = tempDir(name)
        var emulatorEnv = ["BANDYER_API_SECRET_KEY": Self.key]
        // auth0-client reads the client type from the header the app is told to send.
        if let header = env["CLIENTTYPE_HEADER_KEY"] { emulatorEnv["CLIENTTYPE_HEADER_KEY"] = header }
        emulator = try Child(Paths.emulator, ["--port", "0"], env: emulatorEnv, dir: dir, name: "emulator")
        let emulator = self.emulator
        // Its port is known (and it accepts) once it prints the line.
        guard waitUntil(watching: [dir], exits: [emulator], { emulator.stdout.contains("listening on") || !emulator.isRunning }),
              emulator.isRunning,
              let portText = emulator.stdout.split(separator: ":").last?.trimmingCharacters(in: .whitespacesAndNewlines),
              let emulatorPort = Int(portText)
        else {
            let why = emulator.exitStatus.map { "exited with status \($0) before printing \"listening on\"" } ?? "did not print \"listening on\" within 15 s"
            emulator.stop()
            throw StackError("the emulator \(why): \(emulator.stderr)")
        }
        emulatorURL = "http://127.0.0.1:\(emulatorPort)"
        socketPath = dir + "/app.sock"
        appEnv = ["BANDYER_API_SECRET_KEY": Self.key, "BANDYER_BASE_URL": emulatorURL + dialect.bandyerBase,
                  "CRUD_SERVICE_URL": "\(emulatorURL)/crud", "LOG_LEVEL": "info", "UPSTREAM_TIMEOUT_MS": "2000"]
        if auth0 { appEnv["AUTH_SERVICE"] = "\(emulatorURL)/auth0" }
        if profile.isEdge && !auth0 { appEnv["IDENTITY_SERVICE"] = "\(emulatorURL)/auth0" }
        // `{emulator}` in a value stands for the stand-ins' URL (known only now).
        for (k, v) in env { appEnv[k] = v.replacingOccurrences(of: "{emulator}", with: emulatorURL) }
        if let peerSecret {
            let file = dir + "/peer-secret"
            try (peerSecret + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            appEnv["FCGI_PEER_SECRET_FILE"] = file
        }
        port = freePort()
        if holdSocket { heldSocket = listeningUnixSocket(socketPath) }
        for i in 0..<instances { try startApp(instance: i) }
        try startNginx()
    }

    func socketPath(_ instance: Int) -> String { instance == 0 ? socketPath : dir + "/app-\(instance).sock" }

    func startApp(instance: Int = 0) throws {
        let name = "app\(instance)-\(UInt16.random(in: 0...9999))"
        let child = try heldSocket.map { try Child(appPath, [], env: appEnv, dir: dir, name: name, stdin: $0) }
            ?? Child(appPath, ["--socket", socketPath(instance)], env: appEnv, dir: dir, name: name)
        if apps.count > instance { apps[instance] = child } else { apps.append(child) }
        let path = socketPath(instance)
        // The socket is made in `dir` and the log line written there: both are awaited by inotify.
        guard waitUntil(watching: [dir], exits: [child], {
            (FileManager.default.fileExists(atPath: path) && child.stderr.contains("listening")) || !child.isRunning
        }), child.isRunning else {
            let why = child.exitStatus.map { "exited with status \($0) before logging \"listening\"" } ?? "did not log \"listening\" within 15 s"
            child.stop()
            throw StackError("app \(instance) \(why) (and making \(path)): \(child.stderr)")
        }
    }

    /// Starts nginx with the shipped config. A port another test took meanwhile makes nginx
    /// print `emerg` and exit: that is a failed start, retried on another port.
    func startNginx() throws {
        var lastError = ""
        for _ in 0..<5 {
            let (code, output) = try run("/bin/bash", [Paths.root + "/scripts/nginx-local.sh", dir + "/nginx", socketPath, "\(port)", profile.argument],
                                         env: peerSecret.map { ["PEER_SECRET": $0] } ?? [:])
            guard code == 0 else { throw StackError("nginx config: \(output)") }
            if instances > 1 {
                // Every instance in the shipped upstream block, as on several hosts.
                let site = dir + "/nginx/site.conf"
                let servers = (0..<instances).map { "    server unix:\(socketPath($0));" }.joined(separator: "\n")
                let text = try String(contentsOfFile: site, encoding: .utf8)
                    .replacingOccurrences(of: "    server unix:\(socketPath);", with: servers)
                try text.write(toFile: site, atomically: true, encoding: .utf8)
            }
            // nginx writes its pid file once its listening sockets are open (or prints `emerg`
            // and exits): the pid file's directory and its exit are what is awaited.
            let pidFile = dir + "/nginx/nginx.pid"
            try? FileManager.default.removeItem(atPath: pidFile)
            let n = try Child("/usr/sbin/nginx", ["-p", dir + "/nginx", "-c", dir + "/nginx/nginx.conf"], env: [:], dir: dir, name: "nginx-\(port)")
            let awaited = waitUntil(watching: [dir, dir + "/nginx"], exits: [n]) {
                n.stderr.contains("[emerg]") || !n.isRunning || FileManager.default.fileExists(atPath: pidFile)
            }
            if awaited && n.isRunning && !n.stderr.contains("[emerg]") && Self.portOpen(port) {
                nginx = n
                return
            }
            lastError = awaited ? n.stderr : "nginx neither wrote \(pidFile) nor failed within 15 s: \(n.stderr)"
            n.signal(SIGQUIT)
            _ = n.exitStatus(within: 5)
            port = freePort()
        }
        throw StackError("nginx did not start: \(lastError)")
    }

    static func portOpen(_ port: Int) -> Bool {
        guard let fd = connectToLoopback(port: port) else { return false }
        close(fd)
        return true
    }

    /// Waits (poll on the held listening socket) until a connection waits in its backlog.
    func waitForBacklog(timeoutMs: Int32) -> Bool {
        guard let heldSocket else { return false }
        var p = pollfd(fd: heldSocket, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, timeoutMs) > 0
    }

    func stop() {
        // nginx first: it closes its kept connections, so the apps need not wait out their
        // drain grace for it.
        nginx?.signal(SIGQUIT); _ = nginx?.exitStatus(within: 5)
        for a in apps { a.stop() }
        if let heldSocket { close(heldSocket) }
        emulator.stop()
    }

    // MARK: the API

    func call(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) async throws -> HTTPAnswer {
        try await http(method, base + path, headers: headers, body: body)
    }

    // MARK: the stand-ins' control API

    @discardableResult
    func control(_ method: String, _ path: String, _ body: String? = nil) async throws -> HTTPAnswer {
        try await http(method, emulatorURL + "/_control" + path, body: body)
    }

    func reset() async throws { _ = try await control("POST", "/reset") }
    func state() async throws -> JSONValue { try #require(try await control("GET", "/state").json) }
    func requests() async throws -> [JSONValue] { try #require(try await control("GET", "/requests").json?.arrayValue) }
    func fault(_ json: String) async throws {
        let r = try await control("POST", "/faults", json)
        #expect(r.status == 204, "the stand-in refused the fault \(json): \(r.text)")
    }
    func seedAuth0(_ json: String) async throws { _ = try await control("PUT", "/auth0/users", json) }

    /// Waits (a long poll on the stand-in) until exactly `n` requests are held by a fault's delay.
    func waitForHeldRequests(_ n: Int = 0) async throws {
        let r = try await control("GET", "/wait/delaying?delaying=\(n)")
        #expect(r.status == 200, "the stand-in still holds requests: \(r.text)")
    }

    /// Waits until at least `n` requests are held by a fault's delay (they are in flight).
    func waitForHeldRequests(atLeast n: Int) async throws {
        let r = try await control("GET", "/wait/delaying?atLeast=\(n)")
        #expect(r.status == 200, "fewer requests reached the stand-in: \(r.text)")
    }

    /// What the provider received of one kind of call.
    func requests(_ call: Dialect.Call) async throws -> [JSONValue] {
        try await requests().filter {
            $0["service"] == "bandyer" && $0["method"]?.stringValue == call.method && $0["path"]?.stringValue?.hasPrefix(call.path) == true
        }
    }

    func teleconsultations() async throws -> [JSONValue] { try await state()["crud"]?["teleconsultations"]?.arrayValue ?? [] }
    func rooms() async throws -> [JSONValue] { try await state()["bandyer"]?["rooms"]?.arrayValue ?? [] }
}

struct StackError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Runs `body` with a fresh stack, stopping it whatever happens.
func withStack<T>(_ name: String, auth0: Bool = false, env: [String: String] = [:], instances: Int = 1, holdSocket: Bool = false,
                  profile: NginxProfile = .gateway, appPath: String = Paths.app, dialect: Dialect = .v1, peerSecret: String? = nil,
                  _ body: (Stack) async throws -> T) async throws -> T {
    let stack = try Stack(name: name, auth0: auth0, env: env, instances: instances, holdSocket: holdSocket, profile: profile,
                          appPath: appPath, dialect: dialect, peerSecret: peerSecret)
    do {
        let v = try await body(stack)
        stack.stop()
        return v
    } catch {
        stack.stop()
        throw error
    }
}

/// Runs a command to its end, returning its exit code and combined output. One still running
/// after `timeout` seconds is stopped (SIGTERM, SIGKILL 10 s later) and the call throws,
/// naming it.
@discardableResult
func run(_ path: String, _ args: [String], env: [String: String] = [:], timeout: Double = 900) throws -> (Int32, String) {
    var e = ProcessInfo.processInfo.environment
    for (k, v) in env { e[k] = v }
    let out = NSTemporaryDirectory() + "tcb-run-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    defer { try? FileManager.default.removeItem(atPath: out) }
    let child = try Spawned(path, args, environment: e, stdout: out, stderr: out)
    let status = child.exitStatus(before: .now + .seconds(timeout))
    let output = { (try? String(contentsOfFile: out, encoding: .utf8)) ?? "" }
    guard let status else {
        kill(child.pid, SIGTERM)
        if child.exitStatus(before: .now + .seconds(10)) == nil {
            kill(child.pid, SIGKILL)
            _ = child.exitStatus(before: .now + .seconds(5))
        }
        throw StackError("\(([path] + args).joined(separator: " ")) did not finish within \(timeout) s: stopped. Its output: \(output().suffix(4000))")
    }
    return (status, output())
}

/// A listening unix socket held by this process (as systemd holds it).
func listeningUnixSocket(_ path: String) -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
    listen(fd, 1024)
    return fd
}

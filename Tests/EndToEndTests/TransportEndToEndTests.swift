import Foundation
import Glibc
import StrictJSON
import Testing

/// A FastCGI client written for the tests (the product frames no record: libfcgi does): it
/// sends whole requests and reads the app's records back, with deadlines (poll, not sleeps).
final class FastCGITestClient {
    let peer: RawPeer

    init?(_ path: String) {
        guard let peer = RawPeer(path) else { return nil }
        self.peer = peer
    }

    struct Record: Equatable {
        var type: UInt8
        var id: UInt16
        var content: [UInt8]
    }

    static func record(_ type: UInt8, id: UInt16, _ content: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var rest = content[...]
        repeat {
            let chunk = rest.prefix(65_535)
            rest = rest.dropFirst(chunk.count)
            out += [1, type, UInt8(id >> 8), UInt8(id & 0xFF), UInt8(chunk.count >> 8), UInt8(chunk.count & 0xFF), 0, 0] + chunk
        } while !rest.isEmpty
        return out
    }

    static func pairs(_ params: [(String, String)]) -> [UInt8] {
        func length(_ n: Int) -> [UInt8] { n < 128 ? [UInt8(n)] : [UInt8(0x80 | (n >> 24)), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] }
        return params.flatMap { length($0.0.utf8.count) + length($0.1.utf8.count) + Array($0.0.utf8) + Array($0.1.utf8) }
    }

    /// BEGIN_REQUEST (role: 1 responder, 2 authorizer, 3 filter), the params, the body, the ends.
    static func request(id: UInt16 = 1, keep: Bool, role: UInt8 = 1, params: [(String, String)], body: [UInt8] = [], endStdin: Bool = true) -> [UInt8] {
        var out = record(1, id: id, [0, role, keep ? 1 : 0, 0, 0, 0, 0, 0])
        out += record(4, id: id, pairs(params)) + record(4, id: id, [])
        if !body.isEmpty { out += record(5, id: id, body) }
        if endStdin { out += record(5, id: id, []) }
        return out
    }

    static func get(_ uri: String) -> [(String, String)] { [("REQUEST_METHOD", "GET"), ("REQUEST_URI", uri)] }

    func send(_ bytes: [UInt8]) { peer.send(bytes) }

    private var buffered: [UInt8] = []

    /// The next record; nil when the connection ended or nothing came within the deadline.
    func next(timeoutMs: Int32 = 5_000) -> Record? {
        func fill(_ n: Int) -> Bool {
            while buffered.count < n {
                var p = pollfd(fd: peer.fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, timeoutMs) == 1 else { return false }
                var chunk = [UInt8](repeating: 0, count: 65_536)
                let got = read(peer.fd, &chunk, chunk.count)
                guard got > 0 else { return false }
                buffered += chunk.prefix(got)
            }
            return true
        }
        guard fill(8) else { return nil }
        let length = Int(buffered[4]) << 8 | Int(buffered[5])
        let total = 8 + length + Int(buffered[6])
        guard fill(total) else { return nil }
        let record = Record(type: buffered[1], id: UInt16(buffered[2]) << 8 | UInt16(buffered[3]), content: Array(buffered[8..<(8 + length)]))
        buffered.removeFirst(total)
        return record
    }

    /// The records up to this request's END_REQUEST: its STDOUT text and END_REQUEST's
    /// protocol status; nil if the connection ended first.
    func answer(id: UInt16 = 1, timeoutMs: Int32 = 5_000) -> (stdout: String, protocolStatus: UInt8)? {
        var stdout: [UInt8] = []
        while let r = next(timeoutMs: timeoutMs) {
            if r.type == 6, r.id == id { stdout += r.content }
            if r.type == 3, r.id == id, r.content.count == 8 { return (String(decoding: stdout, as: UTF8.self), r.content[4]) }
        }
        return nil
    }

    /// True when the app has closed the connection (within the time), false if it is open.
    func ended(withinMs timeoutMs: Int32) -> Bool { peer.waitForEnd(timeoutMs: timeoutMs) }

    func close() { peer.close() }
}

extension EndToEnd {
    /// What the transport does, seen from a FastCGI client on the app's socket: libfcgi's
    /// answers to the protocol, and the loop's deadlines, kept connections and drain.
    @Suite struct TransportEndToEndTests {
        @Test func keptConnectionsServeInTurnAndLibfcgiAnswersManagementRecordsAndMultiplexing() async throws {
            try await withStack("kept") { s in
                // The event loops are Swift's global executor (the runtime's hook; README, "The global executor").
                #expect(s.app?.stderr.contains(#""executor":"event loops""#) == true, "the global-executor hook is not installed")
                let c = try #require(FastCGITestClient(s.socketPath))
                defer { c.close() }
                // A management record (with a request behind it: libfcgi reads a record's end only
                // once more bytes come) is answered by libfcgi: it does not multiplex.
                c.send(FastCGITestClient.record(9, id: 0, FastCGITestClient.pairs([("FCGI_MPXS_CONNS", ""), ("FCGI_MAX_REQS", "")]))
                       + FastCGITestClient.request(id: 1, keep: true, params: FastCGITestClient.get("/-/healthz")))
                let values = try #require(c.next())
                #expect(values.type == 10 && values.id == 0)
                #expect(String(decoding: values.content, as: UTF8.self).contains("FCGI_MPXS_CONNS0"))
                #expect(c.answer(id: 1)?.stdout.hasPrefix("Status: 200 OK\r\n") == true)
                // Requests one after another on the kept connection.
                for id: UInt16 in [2, 3, 4] {
                    c.send(FastCGITestClient.request(id: id, keep: true, params: FastCGITestClient.get("/-/healthz")))
                    let answer = try #require(c.answer(id: id), "request \(id) on the kept connection was not answered")
                    #expect(answer.stdout.hasPrefix("Status: 200 OK\r\n") && answer.protocolStatus == 0)
                }
                #expect(!c.ended(withinMs: 0), "a kept connection was closed after its answer")
                // A second request while one is open is refused (FCGI_CANT_MPX_CONN); the first is answered.
                c.send(FastCGITestClient.request(id: 5, keep: true, params: FastCGITestClient.get("/-/healthz"), endStdin: false)
                       + FastCGITestClient.request(id: 6, keep: true, params: FastCGITestClient.get("/-/healthz"), endStdin: false)
                       + FastCGITestClient.record(5, id: 5, []))
                var refused = false
                var answered = false
                while !(refused && answered), let r = c.next() {
                    if r.type == 3, r.id == 6 { refused = r.content[4] == 1 }
                    if r.type == 3, r.id == 5 { answered = r.content[4] == 0 }
                }
                #expect(refused && answered)
            }
        }

        @Test func whatTheAppWillNotServeGetsAnAnswerNeverABareClose() async throws {
            try await withStack("refusals") { s in
                // An authorizer (libfcgi cannot say FCGI_UNKNOWN_ROLE): an error status, so nothing is granted.
                let a = try #require(FastCGITestClient(s.socketPath))
                a.send(FastCGITestClient.request(keep: false, role: 2, params: FastCGITestClient.get("/-/healthz")))
                let authorizer = try #require(a.answer())
                #expect(authorizer.stdout.hasPrefix("Status: 400 Bad Request\r\n") && authorizer.stdout.contains("AUTHORIZER is not served"))
                #expect(a.ended(withinMs: 5_000), "a connection the web server did not keep stays open")
                a.close()
                // A body that ends before CONTENT_LENGTH: refused, never processed (FastCGI 1.0, 6.2).
                let b = try #require(FastCGITestClient(s.socketPath))
                let body = Array(#"{"participants":{"#.utf8)
                b.send(FastCGITestClient.request(keep: false, params: [
                    ("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/api/v1/telecons-be/teleconsultation"),
                    ("CONTENT_TYPE", "application/json"), ("CONTENT_LENGTH", "200"), ("HTTP_MIAUSERID", "dr-who"),
                ], body: body))
                let short = try #require(b.answer())
                #expect(short.stdout.hasPrefix("Status: 400 Bad Request\r\n"))
                #expect(short.stdout.contains("the body ended after \(body.count) of its 200 bytes (CONTENT_LENGTH)"))
                b.close()
                #expect(try await s.requests().isEmpty, "a refused request reached an upstream")
                // No method: an answer in the app's JSON shape.
                let c = try #require(FastCGITestClient(s.socketPath))
                c.send(FastCGITestClient.request(keep: false, params: [("REQUEST_URI", "/-/healthz")]))
                let noMethod = try #require(c.answer())
                #expect(noMethod.stdout.hasPrefix("Status: 400 Bad Request\r\n") && noMethod.stdout.contains(#""error""#))
                c.close()
                // cgi-fcgi (libfcgi's own client, Debian libfcgi-bin) with a body on its standard input.
                let (code, output) = try run("/bin/sh", ["-c", "printf '%s' '{\"participants\":{\"number\":1}}' | /usr/bin/cgi-fcgi -bind -connect \(s.socketPath)"],
                                             env: ["REQUEST_METHOD": "POST", "REQUEST_URI": "/api/v1/telecons-be/teleconsultation",
                                                   "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "29", "HTTP_MIAUSERID": "dr-who"])
                // The whole body reached the application: it names the next field it misses.
                #expect(code == 0 && output.hasPrefix("Status: 400 Bad Request\r\n") && output.contains("required property 'start_date'"), "\(output)")
            }
        }

        @Test func aKeptConnectionIdlesForTheIdleTimeoutThenTheAppClosesIt() async throws {
            try await withStack("idle", env: ["FCGI_IDLE_TIMEOUT_MS": "600"]) { s in
                let c = try #require(FastCGITestClient(s.socketPath))
                defer { c.close() }
                c.send(FastCGITestClient.request(keep: true, params: FastCGITestClient.get("/-/healthz")))
                #expect(c.answer()?.protocolStatus == 0)
                #expect(!c.ended(withinMs: 100), "closed before its idle timeout")
                #expect(c.ended(withinMs: 5_000), "still open long after its idle timeout")
            }
        }

        @Test func maxInFlightBoundsTheOpenConnectionsTheRestWaitInTheBacklog() async throws {
            try await withStack("bound", env: ["MAX_IN_FLIGHT": "2"]) { s in
                // Two kept connections take both places.
                let kept = try (0..<2).map { _ in try #require(FastCGITestClient(s.socketPath)) }
                for c in kept {
                    c.send(FastCGITestClient.request(keep: true, params: FastCGITestClient.get("/-/healthz")))
                    #expect(c.answer()?.protocolStatus == 0)
                }
                // A third waits in the backlog: not served while they stay.
                let third = try #require(FastCGITestClient(s.socketPath))
                defer { third.close() }
                third.send(FastCGITestClient.request(keep: false, params: FastCGITestClient.get("/-/healthz")))
                #expect(third.next(timeoutMs: 300) == nil, "a third connection was served past MAX_IN_FLIGHT=2")
                // One closes: the third is served.
                kept[0].close()
                #expect(third.answer()?.stdout.hasPrefix("Status: 200 OK\r\n") == true)
                kept[1].close()
            }
        }

        @Test func aStalledPeerHoldsOneIOThreadAndIsCutAtTheDeadline() async throws {
            try await withStack("stall", env: ["FCGI_IO_THREADS": "2", "FCGI_IO_TIMEOUT_MS": "1500"]) { s in
                // Half a request: one of the two I/O threads reads it, blocked.
                let stalled = try #require(FastCGITestClient(s.socketPath))
                defer { stalled.close() }
                stalled.send(Array(FastCGITestClient.request(keep: true, params: FastCGITestClient.get("/-/healthz")).prefix(20)))
                // The other serves everyone meanwhile, promptly (through nginx, on kept connections too).
                for _ in 0..<20 {
                    let began = Date()
                    let r = try await s.call("GET", "/-/healthz")
                    #expect(r.status == 200 && Date().timeIntervalSince(began) < 1.0)
                }
                #expect(stalled.ended(withinMs: 5_000), "the stalled peer was not cut at the I/O deadline")
                #expect(try await s.call("GET", "/-/ready").status == 200)
            }
        }

        @Test func atShutdownAKeptConnectionServesThroughTheDrainGraceThenCloses() async throws {
            try await withStack("grace", env: ["FCGI_DRAIN_GRACE_MS": "1500"]) { s in
                let c = try #require(FastCGITestClient(s.socketPath))
                defer { c.close() }
                c.send(FastCGITestClient.request(keep: true, params: FastCGITestClient.get("/-/healthz")))
                #expect(c.answer()?.protocolStatus == 0)
                let app = try #require(s.app)
                app.signal(SIGTERM)
                #expect(waitUntil { app.stderr.contains("shutting down") })
                // Within the grace: still served (readiness says 503: the instance is going).
                c.send(FastCGITestClient.request(id: 2, keep: true, params: FastCGITestClient.get("/-/ready")))
                let ready = try #require(c.answer(id: 2))
                #expect(ready.stdout.hasPrefix("Status: 503 Service Unavailable\r\n"))
                // Then the app closes it and exits.
                #expect(c.ended(withinMs: 5_000))
                #expect(app.waitForExit() == 0)
            }
        }

        @Test(arguments: [SIGTERM, SIGINT])
        func aSecondSignalDuringTheDrainEndsTheProcessAtOnce(_ second: Int32) async throws {
            try await withStack("second", env: ["SHUTDOWN_TIMEOUT_MS": "60000"]) { s in
                // The CRUD read is held until released: in flight in the app for as long as the test wants.
                try await s.fault(#"{"service":"crud","method":"GET","hold":true}"#)
                let id = "cccccccccccccccccccccccc"
                async let slow = s.call("GET", "/teleconsultation/\(id)?token=secret", headers: ["miauserid": "u"])
                try await s.waitForHeldRequests(atLeast: 1)
                let app = try #require(s.app)
                app.signal(SIGTERM)
                #expect(waitUntil { app.stderr.contains("shutting down") })
                app.signal(second)
                // At once: with the call still held, long before the drain deadline (60 s).
                #expect(app.exitStatus(within: 5) == 1)
                _ = try await http("POST", s.emulatorURL + "/_control/faults/release")
                let name = second == SIGTERM ? "SIGTERM" : "SIGINT"
                #expect(app.stderr.contains("second \(name): stopping at once"))
                #expect(app.stderr.contains("GET /api/v1/telecons-be/teleconsultation/\(id)") && !app.stderr.contains("token=secret"))
                #expect(!FileManager.default.fileExists(atPath: s.socketPath), "the socket the app made is left behind")
                #expect(try await slow.status == 502)
            }
        }

        /// Apache httpd's mod_proxy_fcgi (Debian apache2-bin), in the foreground with its own
        /// config, as a second FastCGI client besides nginx: kept connections (enablereuse),
        /// bodies, the application's answers.
        @Test func apacheModProxyFCGIServesTheAPIToo() async throws {
            try await withStack("apache") { s in
                let id = try await s.create([doctorJSON, patientJSON])
                let dir = tempDir("apache")
                chmod(dir, 0o755)
                let port = freePort()
                let modules = "/usr/lib/apache2/modules"
                let config = """
                    LoadModule mpm_event_module \(modules)/mod_mpm_event.so
                    LoadModule authz_core_module \(modules)/mod_authz_core.so
                    LoadModule proxy_module \(modules)/mod_proxy.so
                    LoadModule proxy_fcgi_module \(modules)/mod_proxy_fcgi.so
                    ServerName localhost
                    ServerRoot \(dir)
                    Listen 127.0.0.1:\(port)
                    PidFile \(dir)/httpd.pid
                    ErrorLog \(dir)/error.log
                    DefaultRuntimeDir \(dir)
                    User www-data
                    Group www-data
                    ProxyPass "/api/" "unix:\(s.socketPath)|fcgi://localhost/api/" enablereuse=on

                    """
                try config.write(toFile: dir + "/httpd.conf", atomically: true, encoding: .utf8)
                let apache = try Child("/usr/sbin/apache2", ["-f", dir + "/httpd.conf", "-DFOREGROUND"], env: [:], dir: dir, name: "apache")
                defer { apache.stop() }
                #expect(waitUntil(exits: [apache]) {
                    guard let fd = connectToLoopback(port: port) else { return false }
                    close(fd)
                    return true
                }, "apache did not start: \(apache.stderr)")
                let base = "http://127.0.0.1:\(port)/api/v1/telecons-be"
                for _ in 0..<5 {
                    let health = try await http("GET", base + "/-/healthz")
                    #expect(health.status == 200 && health.json?["status"] == .string("OK"))
                }
                let link = try await http("GET", base + "/teleconsultation/\(id)", headers: ["miauserid": "dr-who"])
                #expect(link.status == 200 && link.json?["accessLinkURL"]?.stringValue?.hasPrefix("http") == true, "\(link.status) \(link.text)")
                let bad = try await http("POST", base + "/teleconsultation", headers: ["content-type": "application/json", "miauserid": "dr-who"],
                                         body: #"{"participants":{"number":1}}"#)
                #expect(bad.status == 400 && bad.json?["message"] == .string("body must have required property 'start_date'"), "\(bad.text)")
            }
        }
    }
}

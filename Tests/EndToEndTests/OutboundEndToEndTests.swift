import Foundation
import Glibc
import StrictJSON
import Testing

/// A peer of Tests/OutboundPeers/outbound_peers.py (a forward proxy, or a relay in front of
/// the stand-ins), its counters read from the JSON file it rewrites on every event.
final class OutboundPeer: @unchecked Sendable {
    let child: Child
    let port: Int
    let countsPath: String

    init(_ mode: String, name: String, dir: String, _ args: [String]) throws {
        countsPath = "\(dir)/\(name).json"
        child = try Child("/usr/bin/python3", [Paths.root + "/Tests/OutboundPeers/outbound_peers.py", mode, "--dir", dir, "--name", name] + args,
                          env: [:], dir: dir, name: name)
        let child = child
        guard waitUntil(watching: [dir], exits: [child], { child.stdout.contains("listening on") || !child.isRunning }),
              let port = Int(child.stdout.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
        else {
            child.stop()
            throw StackError("\(name) did not start: \(child.stderr)")
        }
        self.port = port
    }

    var counts: JSONValue { (try? JSONParser.parse(Array((try? Data(contentsOf: URL(fileURLWithPath: countsPath))) ?? Data()))) ?? .null }
    func count(_ key: String) -> Int { counts[key]?.intValue ?? 0 }
    var events: [String] { counts["events"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    func stop() { child.stop() }
}

/// Test certificates made with openssl: a CA, a server certificate it signs for `names`, and
/// a second CA nobody trusts.
struct TestPKI {
    let dir: String
    var caFile: String { dir + "/ca.pem" }
    var certFile: String { dir + "/server.pem" }
    var keyFile: String { dir + "/server.key" }

    init(dir: String, names: [String]) throws {
        self.dir = dir
        let openssl = "/usr/bin/openssl"
        func check(_ args: [String]) throws {
            let (code, out) = try run(openssl, args, timeout: 60)
            guard code == 0 else { throw StackError("openssl \(args.joined(separator: " ")): \(out)") }
        }
        try check(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=Outbound Test CA",
                   "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                   "-keyout", dir + "/ca.key", "-out", caFile])
        try check(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=\(names[0])",
                   "-keyout", keyFile, "-out", dir + "/server.csr"])
        let ext = "subjectAltName=" + names.map { "DNS:\($0)" }.joined(separator: ",") + "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        try ext.write(toFile: dir + "/server.ext", atomically: true, encoding: .utf8)
        try check(["x509", "-req", "-in", dir + "/server.csr", "-CA", caFile, "-CAkey", dir + "/ca.key", "-CAcreateserial", "-days", "2",
                   "-extfile", dir + "/server.ext", "-out", certFile])
    }
}

extension EndToEnd {
    /// Issue 18: outbound HTTP on real networks — proxies, stale kept connections, TLS — through
    /// nginx and the real binary, against the stand-ins behind small Python peers.
    @Suite struct OutboundEndToEndTests {
        static let missing = "/teleconsultation/0123456789abcdef01234567"

        /// The stand-ins' port, once the stack runs.
        static func emulatorPort(_ s: Stack) -> Int { Int(s.emulatorURL.split(separator: ":").last!)! }

        @Test func everyUpstreamGoesThroughTheProxyOfTheEnvironmentUnlessNoProxyNamesIt() async throws {
            let dir = tempDir("proxy-peers")
            let pki = try TestPKI(dir: dir, names: ["bandyer.upstream.test"])
            // The names *.upstream.test resolve nowhere but in the proxy.
            let proxy = try OutboundPeer("proxy", name: "proxy", dir: dir, ["--map-file", dir + "/map.json", "--auth", "tester:s3cr@t"])
            let tls = try OutboundPeer("relay", name: "bandyer-tls", dir: dir, ["--target-file", dir + "/target", "--cert", pki.certFile, "--key", pki.keyFile])
            defer { proxy.stop(); tls.stop() }
            let env = ["HTTPS_PROXY": "http://tester:s3cr%40t@127.0.0.1:\(proxy.port)", "http_proxy": "http://tester:s3cr%40t@127.0.0.1:\(proxy.port)",
                       "NO_PROXY": "localhost,127.0.0.1", "UPSTREAM_CA_FILE": pki.caFile, "DEFAULT_CLIENT_TYPE": "frontend",
                       "CRUD_SERVICE_URL": "http://crud.upstream.test/crud", "BANDYER_BASE_URL": "https://bandyer.upstream.test/bandyer"]
            try await withStack("proxied", auth0: true, env: env) { s in
                let port = Self.emulatorPort(s)
                try #"{"crud.upstream.test": \#(port), "bandyer.upstream.test": \#(tls.port)}"#.write(toFile: dir + "/map.json", atomically: true, encoding: .utf8)
                try "\(port)".write(toFile: dir + "/target", atomically: true, encoding: .utf8)
                try await s.seedAuth0(#"[{"user_id":"d","name":"Doc","groups":["doctor"]},{"user_id":"p","name":"Pat","groups":["patient"]}]"#)

                let id = try await s.create([#"{"userExternalId":"d"}"#, #"{"userExternalId":"p"}"#])
                // A request's Proxy header (FastCGI param HTTP_PROXY) changes nothing here either.
                let r = try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "p", "Proxy": "http://127.0.0.1:1"])
                #expect(r.status == 200 && r.json?["accessLinkURL"]?.stringValue != nil, "\(r.status) \(r.text)")

                let events = proxy.events
                #expect(events.contains("CONNECT crud.upstream.test:80"), "\(events)")
                #expect(events.contains("CONNECT bandyer.upstream.test:443"), "https through a CONNECT tunnel: \(events)")
                #expect(proxy.count("refusedCredentials") == 0 && proxy.count("unknownHost") == 0, "\(proxy.counts)")
                #expect(tls.count("answered") > 0, "the provider's calls went through the tunnel over TLS")
                // auth0-client is at 127.0.0.1, which NO_PROXY names: reached directly (the
                // proxy would have refused a name it does not know).
                #expect(try await s.requests().contains { $0["service"] == "auth0" })
                #expect(!events.contains { $0.contains("127.0.0.1") })
                #expect(!(s.app?.stderr.contains("s3cr") ?? true), "the proxy's credentials are never logged")

                // --check-config says which upstream goes which way, credentials hidden.
                let check = try Child(Paths.app, ["--check-config"], env: s.appEnv, dir: dir, name: "check")
                #expect(check.waitForExit() == 0, "\(check.stderr)")
                let line = try #require(check.stderr.split(separator: "\n").first { $0.contains("outbound routes") })
                let v = try JSONParser.parse(String(line))
                #expect(v["crud"] == .string("via http://***:***@127.0.0.1:\(proxy.port)"), "\(line)")
                #expect(v["bandyer"] == .string("via http://***:***@127.0.0.1:\(proxy.port)"), "\(line)")
                #expect(v["auth0-client"] == "direct", "\(line)")
                #expect(!check.stderr.contains("s3cr") && !check.stderr.contains("tester"), "\(check.stderr)")
            }
        }

        @Test func wrongProxyCredentialsAre502AndNameTheProxy() async throws {
            let dir = tempDir("proxy-407")
            let proxy = try OutboundPeer("proxy", name: "proxy", dir: dir, ["--map-file", dir + "/map.json", "--auth", "tester:right"])
            defer { proxy.stop() }
            try await withStack("proxy-407", env: ["HTTP_PROXY": "http://tester:wrong@127.0.0.1:\(proxy.port)",
                                                  "CRUD_SERVICE_URL": "http://crud.upstream.test/crud"]) { s in
                try #"{"crud.upstream.test": \#(Self.emulatorPort(s))}"#.write(toFile: dir + "/map.json", atomically: true, encoding: .utf8)
                let r = try await s.call("GET", Self.missing)
                #expect(r.status == 502, "\(r.status) \(r.text)")
                #expect(proxy.count("refusedCredentials") >= 1)
                #expect(s.app?.stderr.contains("refused its credentials (407)") == true, "\(s.app?.stderr.suffix(2000) ?? "")")
                #expect(!(s.app?.stderr.contains("wrong") ?? true))
            }
        }

        /// httpoxy: nginx passes a `Proxy` header as the FastCGI param HTTP_PROXY; the app must
        /// not take it for the proxy variable. The header reaches the app (it is proxied to the
        /// CRUD, as ADDITIONAL_HEADERS_TO_PROXY asks), and the counting proxy it names stays idle.
        @Test func aRequestsProxyHeaderChangesNothing() async throws {
            let dir = tempDir("httpoxy")
            let proxy = try OutboundPeer("proxy", name: "proxy", dir: dir, ["--map-file", dir + "/map.json"])
            defer { proxy.stop() }
            try await withStack("httpoxy", env: ["ADDITIONAL_HEADERS_TO_PROXY": "proxy"]) { s in
                try #"{"127.0.0.1": \#(Self.emulatorPort(s))}"#.write(toFile: dir + "/map.json", atomically: true, encoding: .utf8)
                let id = try await s.create([doctorJSON, patientJSON])
                for header in ["http://127.0.0.1:\(proxy.port)", "http://127.0.0.1:1"] {
                    let r = try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "dr-who", "Proxy": header])
                    #expect(r.status == 200, "Proxy: \(header) → \(r.status) \(r.text)")
                }
                let seen = try await s.requests().filter { $0["service"] == "crud" && $0["method"] == "GET" }.compactMap { $0["headers"]?["proxy"] }
                #expect(seen.contains(.string("http://127.0.0.1:1")), "the header reached the app: \(seen)")
                #expect(proxy.counts["events"]?.arrayValue?.isEmpty == true && proxy.count("connect") == 0 && proxy.count("forward") == 0,
                        "\(proxy.counts)")
            }
        }

        /// The CRUD behind a relay that closes kept connections idle for 1 s.
        @Test func aPostAfterTheServerClosedTheIdleConnectionSucceedsEveryTime() async throws {
            let dir = tempDir("idle-close")
            let relay = try OutboundPeer("relay", name: "relay", dir: dir, ["--target-file", dir + "/target", "--idle-close", "1"])
            defer { relay.stop() }
            try await withStack("idle-close", env: ["CRUD_SERVICE_URL": "http://127.0.0.1:\(relay.port)/crud"]) { s in
                try "\(Self.emulatorPort(s))".write(toFile: dir + "/target", atomically: true, encoding: .utf8)
                var statuses: [Int] = []
                // 10 rounds of 10 creates at once: each round starts on a pool whose every
                // connection the relay closed (awaited: its counter), 1.5 s after the last answer.
                for _ in 0..<10 {
                    let round = try await withThrowingTaskGroup(of: Int.self) { group in
                        for _ in 0..<10 {
                            group.addTask { try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[]},"start_date":"\#(iso(60))","end_date":"\#(iso(600))"}"#).status }
                        }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                    statuses += round
                    let done = ContinuousClock.now
                    #expect(waitUntil(watching: [dir]) { relay.count("idleClosed") == relay.count("connections") }, "\(relay.counts)")
                    // The scenario's idle time (1.5 s), not a wait for an event.
                    try await Task.sleep(until: done + .milliseconds(1500))
                }
                #expect(statuses == Array(repeating: 201, count: 100), "\(statuses)")
                #expect(relay.count("dropped") == 0 && relay.count("idleClosed") >= 10, "\(relay.counts)")
                #expect(try await s.teleconsultations().count == 100)
            }
        }

        /// The relay reads a request, then closes without answering: a GET is sent again (once),
        /// a POST never is.
        @Test func whenTheCloseAndTheRequestCrossAGetIsRetriedOnceAndAPostNeverSentTwice() async throws {
            let dir = tempDir("crossing")
            let relay = try OutboundPeer("relay", name: "relay", dir: dir, ["--target-file", dir + "/target"])
            defer { relay.stop() }
            try await withStack("crossing", env: ["CRUD_SERVICE_URL": "http://127.0.0.1:\(relay.port)/crud"]) { s in
                try "\(Self.emulatorPort(s))".write(toFile: dir + "/target", atomically: true, encoding: .utf8)
                let id = try await s.create([doctorJSON, patientJSON])
                let control = "http://127.0.0.1:\(relay.port)/_relay/drop"

                var before = relay.events.count
                #expect(try await http("POST", control + "?method=GET&count=1").status == 204)
                let r = try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "dr-who"])
                #expect(r.status == 200, "\(r.status) \(r.text)")
                var after = Array(relay.events.dropFirst(before))
                #expect(relay.count("dropped") == 1 && after.first?.hasPrefix("GET /crud/teleconsultations/") == true, "\(after)")
                #expect(after.count >= 2 && after[1] == after[0], "the same GET again: \(after)")

                // Two drops armed: a POST sent again would be dropped too, and seen twice.
                before = relay.events.count
                let writes = try await s.teleconsultations().count
                #expect(try await http("POST", control + "?method=POST&count=2").status == 204)
                let p = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[]},"start_date":"\#(iso(60))","end_date":"\#(iso(600))"}"#)
                #expect(p.status == 502, "\(p.status) \(p.text)")
                after = Array(relay.events.dropFirst(before))
                #expect(after.filter { $0.hasPrefix("POST ") }.count == 1, "a POST is never sent twice: \(after)")
                #expect(relay.count("dropped") == 2)
                #expect(try await s.teleconsultations().count == writes)
            }
        }

        /// A header value the configuration brings (DEFAULT_CLIENT_TYPE, sent to auth0-client as
        /// the client type) that would split the request is refused before anything is sent:
        /// auth0-client, listening all along, receives nothing.
        @Test func aHeaderThatWouldSplitTheRequestNeverLeavesTheApp() async throws {
            for value in ["frontend\r\nx-injected: yes", "frontend\u{1}"] {
                try await withStack("header-split", auth0: true, env: ["DEFAULT_CLIENT_TYPE": value]) { s in
                    try await s.seedAuth0(#"[{"user_id":"d","name":"Doc","groups":["doctor"]},{"user_id":"p","name":"Pat","groups":["patient"]}]"#)
                    let r = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[{"userExternalId":"d"},{"userExternalId":"p"}]},"start_date":"\#(iso(60))","end_date":"\#(iso(600))"}"#)
                    #expect(r.status == 502, "\(value.debugDescription): \(r.status) \(r.text)")
                    #expect(try await s.requests().filter { $0["service"] == "auth0" }.isEmpty, "auth0-client received a request")
                    let log = s.app?.stderr ?? ""
                    #expect(log.contains("refused before sending: a header value has a control character"), "\(log.suffix(2000))")
                    #expect(!log.contains("x-injected"), "the refused value is not logged")
                }
            }
        }

        @Test func httpsUpstreamsAreCheckedAgainstTheSystemRootsOrTheCAFile() async throws {
            let dir = tempDir("tls")
            let pki = try TestPKI(dir: dir, names: ["localhost"])
            let relay = try OutboundPeer("relay", name: "tls", dir: dir, ["--target-file", dir + "/target", "--cert", pki.certFile, "--key", pki.keyFile])
            defer { relay.stop() }
            // Trusted through UPSTREAM_CA_FILE: the CRUD answers (404: no such document).
            try await withStack("tls-trusted", env: ["CRUD_SERVICE_URL": "https://localhost:\(relay.port)/crud", "UPSTREAM_CA_FILE": pki.caFile]) { s in
                try "\(Self.emulatorPort(s))".write(toFile: dir + "/target", atomically: true, encoding: .utf8)
                let r = try await s.call("GET", Self.missing)
                #expect(r.status == 404 && r.text.contains("not found on CRUD"), "\(r.status) \(r.text)")
                #expect(relay.count("answered") == 1)
            }
            // The system's roots only: refused, and the log line says why.
            try await withStack("tls-untrusted", env: ["CRUD_SERVICE_URL": "https://localhost:\(relay.port)/crud"]) { s in
                try "\(Self.emulatorPort(s))".write(toFile: dir + "/target", atomically: true, encoding: .utf8)
                let r = try await s.call("GET", Self.missing)
                #expect(r.status == 502, "\(r.status) \(r.text)")
                #expect(s.app?.stderr.contains("TLS: the certificate of localhost:\(relay.port) is not trusted (refused)") == true,
                        "\(s.app?.stderr.suffix(2000) ?? "")")
            }
            // Trusted CA, but the certificate does not name 127.0.0.1: refused, saying so.
            try await withStack("tls-wrong-name", env: ["CRUD_SERVICE_URL": "https://127.0.0.1:\(relay.port)/crud", "UPSTREAM_CA_FILE": pki.caFile]) { s in
                try "\(Self.emulatorPort(s))".write(toFile: dir + "/target", atomically: true, encoding: .utf8)
                let r = try await s.call("GET", Self.missing)
                #expect(r.status == 502, "\(r.status) \(r.text)")
                #expect(s.app?.stderr.contains("TLS: the certificate of 127.0.0.1:\(relay.port) is not valid for 127.0.0.1 (refused)") == true,
                        "\(s.app?.stderr.suffix(2000) ?? "")")
            }
            #expect(relay.count("answered") == 1, "only the trusted stack's request got through: \(relay.counts)")
            // A CA file that cannot be used stops the start, naming the key.
            for (path, reason) in [(dir + "/none.pem", "cannot read"), (pki.keyFile, "holds no PEM certificate")] {
                let bad = try Child(Paths.app, ["--check-config"], env: ["BANDYER_API_SECRET_KEY": "k", "BANDYER_BASE_URL": "http://b", "UPSTREAM_CA_FILE": path],
                                    dir: dir, name: "bad-ca-\(reason.count)")
                #expect(bad.waitForExit() == 1)
                #expect(bad.stderr.contains("UPSTREAM_CA_FILE") && bad.stderr.contains(reason), "\(bad.stderr)")
            }
        }
    }
}

import Foundation
import Glibc
import StrictJSON
import Testing
extension EndToEnd {
    /// Start-up, socket activation, shutdown and the systemd units, with the real binary.
    @Suite struct ProcessEndToEndTests {
        @Test func startUpIsRefusedOnABadConfigWithOneClearLine() throws {
            let dir = tempDir("badconfig")
            try Data(#"{"privileges":{"plus":{"groups":["doctor"]},"basic":{"groups":["patient"]}},"colour":"red"}"#.utf8)
                .write(to: URL(fileURLWithPath: dir + "/config.json"))
            let cases: [([String: String], String)] = [
                (["BANDYER_BASE_URL": "http://b"], "BANDYER_API_SECRET_KEY"),
                (["BANDYER_API_SECRET_KEY": "k", "BANDYER_BASE_URL": "http://b", "TELECONSULTATION_SERVICE_CONFIG_PATH": dir + "/config.json"],
                 "TELECONSULTATION_SERVICE_CONFIG_PATH colour"),
                (["BANDYER_API_SECRET_KEY": "k", "BANDYER_BASE_URL": "http://b", "UNLIMITED_TELECONSULTATION": "maybe", "LOG_LEVEL": "silent"],
                 "UNLIMITED_TELECONSULTATION"),
                // Set but empty is not standalone mode: it is named.
                (["BANDYER_API_SECRET_KEY": "k", "BANDYER_BASE_URL": "http://b", "AUTH_SERVICE": ""], "AUTH_SERVICE"),
                (["BANDYER_API_SECRET_KEY": "k", "BANDYER_BASE_URL": "http://b", "BASE_PATH": ""], "BASE_PATH"),
                // The later routes' variables.
                (["BANDYER_API_SECRET_KEY": "k", "BANDYER_BASE_URL": "http://b", "DEFAULT_RECORDING_TYPE": "sometimes"], "DEFAULT_RECORDING_TYPE"),
                (["BANDYER_API_SECRET_KEY": "k", "BANDYER_BASE_URL": "http://b", "CUSTOM_ID_USERS_API_ENDPOINT": "http://crud/users/"],
                 "CUSTOM_ID_USERS_API_ENDPOINT"),
                (["BANDYER_API_SECRET_KEY": "k", "BANDYER_BASE_URL": "http://b", "TELECONSULTATION_DELETE_UPLOADS": "yes"], "TELECONSULTATION_DELETE_UPLOADS"),
            ]
            for (n, (env, key)) in cases.enumerated() {
                let child = try Child(Paths.app, ["--socket", dir + "/x.sock"], env: env.merging(["BANDYER_API_SECRET_KEY": env["BANDYER_API_SECRET_KEY"] ?? ""]) { a, _ in a },
                                      dir: dir, name: "bad\(n)")
                #expect(child.waitForExit(timeout: 10) == 1)
                let lines = child.stderr.split(separator: "\n")
                #expect(lines.count == 1, "\(child.stderr)")
                let line = try JSONParser.parse(String(lines.first ?? ""))
                #expect(line["level"] == 60)
                #expect(line["key"]?.stringValue == key)
                #expect(child.stdout.isEmpty)
            }
        }

        @Test func checkConfigExitsWithoutServing() throws {
            let dir = tempDir("check")
            let ok = try Child(Paths.app, ["--check-config"], env: ["BANDYER_API_SECRET_KEY": "k", "BANDYER_BASE_URL": "http://b"], dir: dir, name: "ok")
            #expect(ok.waitForExit() == 0)
            let bad = try Child(Paths.app, ["--check-config"], env: ["BANDYER_API_SECRET_KEY": "k", "BANDYER_BASE_URL": "nope"], dir: dir, name: "bad")
            #expect(bad.waitForExit() == 1)
            #expect(bad.stderr.contains("BANDYER_BASE_URL"))
        }

        func fastCGIGet(_ socket: String, _ uri: String) throws -> String {
            try run("/usr/bin/cgi-fcgi", ["-bind", "-connect", socket], env: ["REQUEST_METHOD": "GET", "REQUEST_URI": uri]).1
        }

        @Test func servesTheSocketOnFd0AndASecondInstanceTakesOver() throws {
            let dir = tempDir("fd0")
            let path = dir + "/held.sock"
            let fd = listeningUnixSocket(path)
            defer { close(fd) }
            let env = ["BANDYER_API_SECRET_KEY": "k", "BANDYER_BASE_URL": "http://127.0.0.1:9/b"]
            let first = try Child(Paths.app, [], env: env, dir: dir, name: "first", stdin: fd)
            #expect(waitUntil { first.stderr.contains("listening") })
            #expect(try fastCGIGet(path, "/-/healthz").contains("Status: 200 OK"))
            first.signal(SIGTERM)
            #expect(first.waitForExit() == 0)
            // The socket outlives the first instance (never shutdown()): a new one serves it.
            let second = try Child(Paths.app, [], env: env, dir: dir, name: "second", stdin: fd)
            #expect(waitUntil { second.stderr.contains("listening") })
            #expect(try fastCGIGet(path, "/api/v1/telecons-be/-/ready").contains(#""status":"OK""#))
            second.stop()
        }

        @Test func sigtermLetsRequestsInFlightFinish() async throws {
            try await withStack("sigterm") { s in
                // Every CRUD read takes 1.5 s: the requests are in flight when SIGTERM arrives.
                try await s.fault(#"{"service":"crud","method":"GET","delayMs":1500}"#)
                let id = "aaaaaaaaaaaaaaaaaaaaaaaa"
                let results = try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                    for _ in 0..<20 { group.addTask { try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "u"]) } }
                    // All 20 are held by the stand-in: in flight in the app.
                    try await s.waitForHeldRequests(atLeast: 20)
                    s.app?.signal(SIGTERM)
                    var all: [HTTPAnswer] = []
                    for try await r in group { all.append(r) }
                    return all
                }
                #expect(results.count == 20)
                #expect(results.allSatisfy { $0.status == 404 && $0.json?["error"] == .string("Room with id \(id) not found on CRUD") },
                        "\(results.map(\.status))")
                #expect(s.app?.waitForExit() == 0)
                #expect(s.app?.stderr.contains("\"msg\":\"stopped\"") == true)
            }
        }

        @Test func drainTimeoutLogsTheAbandonedRequestsAndExits1() async throws {
            try await withStack("abandon", env: ["SHUTDOWN_TIMEOUT_MS": "300"]) { s in
                try await s.fault(#"{"service":"crud","method":"GET","delayMs":1800}"#)
                let id = "bbbbbbbbbbbbbbbbbbbbbbbb"
                async let slow = s.call("GET", "/teleconsultation/\(id)?token=secret", headers: ["miauserid": "u"])
                try await s.waitForHeldRequests(atLeast: 1)
                s.app?.signal(SIGTERM)
                #expect(s.app?.waitForExit() == 1)
                let log = s.app?.stderr ?? ""
                #expect(log.contains("abandoning requests in flight") && log.contains("GET /api/v1/telecons-be/teleconsultation/\(id)"))
                #expect(!log.contains("token=secret"))
                // nginx tells the caller in JSON.
                #expect(try await slow.status == 502)
            }
        }

        @Test func restartUnderLoadOnAHeldSocketLosesNoRequest() async throws {
            try await withStack("restart", holdSocket: true) { s in
                let id = try await s.create([doctorJSON, patientJSON])
                let progress = Progress()
                // Workers call until told to stop; meanwhile the instance is replaced. Half of
                // them POST (a body the app refuses with 400): nginx never retries a POST, so one
                // written into a kept connection the old instance closed would fail with 502.
                async let counts: (Int, [String]) = withThrowingTaskGroup(of: (Int, [String]).self) { group in
                    for worker in 0..<16 {
                        group.addTask {
                            var ok = 0
                            var failures: [String] = []
                            while !progress.stopped {
                                let r = worker % 2 == 0
                                    ? try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "dr-who"])
                                    : try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":1}}"#, headers: ["content-type": "application/json"])
                                if r.status == (worker % 2 == 0 ? 200 : 400) { ok += 1 } else { failures.append("\(r.status) \(r.text)") }
                                progress.count()
                            }
                            return (ok, failures)
                        }
                    }
                    return try await group.reduce(into: (0, [String]())) { $0.0 += $1.0; $0.1 += $1.1 }
                }
                await progress.reached(300)
                let old = try #require(s.app)
                old.signal(SIGTERM)
                #expect(old.waitForExit() == 0)
                // A gap: with no instance at all, requests queue in the kernel backlog of the held socket.
                #expect(s.waitForBacklog(timeoutMs: 5000), "no request reached the held socket while no instance ran")
                try s.startApp()
                await progress.reached(progress.done + 300)
                progress.stop()
                let (ok, failures) = try await counts
                #expect(failures.isEmpty, "\(failures.count) failed: \(failures.prefix(3))")
                #expect(ok > 100)
                print("restart under load: \(ok) requests, \(failures.count) failed")
            }
        }

        @Test func systemdUnitsVerifyCleanly() throws {
            let dir = tempDir("systemd")
            let names = ["teleconsultation-backend.socket", "teleconsultation-backend.service",
                         "teleconsultation-backend-sweep.service", "teleconsultation-backend-sweep.timer"]
            for name in names {
                var text = try String(contentsOfFile: Paths.root + "/deploy/systemd/" + name, encoding: .utf8)
                text = text.replacingOccurrences(of: "/usr/bin/teleconsultation-backend", with: Paths.app)
                try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
            }
            let (code, output) = try run("/usr/bin/systemd-analyze", ["verify"] + names.map { dir + "/" + $0 })
            #expect(code == 0)
            #expect(output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "systemd-analyze verify: \(output)")
        }
    }
}

/// Counts requests done by concurrent workers and lets the test wait for a number (an
/// event, not a pause).
final class Progress: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    private var isStopped = false
    private var waiters: [(Int, CheckedContinuation<Void, Never>)] = []

    var done: Int { lock.withLock { n } }
    var stopped: Bool { lock.withLock { isStopped } }

    func count() {
        let ready: [CheckedContinuation<Void, Never>] = lock.withLock {
            n += 1
            let (due, rest) = (waiters.filter { $0.0 <= n }, waiters.filter { $0.0 > n })
            waiters = rest
            return due.map(\.1)
        }
        ready.forEach { $0.resume() }
    }

    func reached(_ target: Int) async {
        await withCheckedContinuation { c in
            let now: Bool = lock.withLock {
                if n >= target { return true }
                waiters.append((target, c))
                return false
            }
            if now { c.resume() }
        }
    }

    func stop() { lock.withLock { isStopped = true } }
}

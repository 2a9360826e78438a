import Foundation
import Glibc
import StrictJSON
import Testing

extension EndToEnd {
    /// `make run` (scripts/run.sh) as a newcomer uses it: started twice by mistake, and
    /// stopped with Ctrl-C while a request is in flight.
    @Suite struct RunScriptEndToEndTests {
        /// One `make run` with the test's binaries, ports and directory; in a session of its
        /// own, so that a signal to its process group is what Ctrl-C in its terminal sends.
        static func start(_ name: String, dir: String, listen: Int, emulator: Int, runDir: String) throws -> Child {
            try Child("/usr/bin/setsid", ["/bin/bash", Paths.root + "/scripts/run.sh"],
                      env: ["BIN_PATH": Paths.bin, "RUN_DIR": runDir, "LISTEN": "127.0.0.1:\(listen)", "EMULATOR_PORT": "\(emulator)"],
                      dir: dir, name: name)
        }

        @Test func aSecondRunIsRefusedAtOnceAndCtrlCLetsTheRequestInFlightFinish() async throws {
            let dir = tempDir("run-script")
            let listen = freePort(), emulatorPort = freePort()
            let runDir = dir + "/run"
            let first = try Self.start("first", dir: dir, listen: listen, emulator: emulatorPort, runDir: runDir)
            // Whatever happens, the script stops its processes: they are in sessions of their own
            // (a group kill would leave them running, holding the ports and this process's files).
            defer { if first.isRunning { first.signal(SIGTERM); _ = first.waitForExit(timeout: 20) } }
            try #require(waitUntil(timeout: 30) { first.stdout.contains("is up") || !first.isRunning }, "\(first.stderr)")
            try #require(first.isRunning, "\(first.stderr)")
            let base = "http://127.0.0.1:\(listen)/api/v1/telecons-be"

            // The same ports: refused before it touches anything, naming what holds the port.
            let second = try Self.start("second", dir: dir, listen: listen, emulator: emulatorPort, runDir: runDir)
            #expect(second.waitForExit(timeout: 10) == 1)
            #expect(second.stderr.contains("port \(listen)") && second.stderr.contains("nginx"), "\(second.stderr)")
            #expect(!second.stdout.contains("is up"), "\(second.stdout)")
            // Other ports, the same directory: refused too (it would remove the first one's socket).
            let third = try Self.start("third", dir: dir, listen: freePort(), emulator: freePort(), runDir: runDir)
            #expect(third.waitForExit(timeout: 10) == 1)
            #expect(third.stderr.contains("in use by another make run"), "\(third.stderr)")
            #expect(FileManager.default.fileExists(atPath: runDir + "/app.sock"))
            #expect(try await http("GET", base + "/-/healthz").status == 200)

            // The stand-ins on a taken port: one line and exit 1, not a crash.
            let emulator = try Child(Paths.emulator, ["--port", "\(emulatorPort)"], env: [:], dir: dir, name: "emulator-again")
            #expect(emulator.waitForExit(timeout: 10) == 1)
            let lines = emulator.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines.first?.contains("cannot serve on 127.0.0.1:\(emulatorPort): the port is taken") == true, "\(emulator.stderr)")

            // A request held 3 s at the CRUD stand-in, then Ctrl-C: it still gets its answer.
            let up = "http://127.0.0.1:\(emulatorPort)/_control"
            #expect(try await http("POST", up + "/faults", body: #"{"service":"crud","method":"POST","delayMs":3000,"times":1}"#).status == 204)
            async let created = http("POST", base + "/teleconsultation", headers: ["authorization": "Bearer doctor-token"],
                                     body: #"{"participants":{"number":2,"data":[\#(doctorJSON)]},"start_date":"\#(iso(60))","end_date":"\#(iso(1800))"}"#)
            #expect(try await http("GET", up + "/wait/delaying?atLeast=1").status == 200)
            kill(-first.spawned.pid, SIGINT)
            let answer = try await created
            #expect(answer.status == 201 && answer.json?["roomId"]?.stringValue != nil, "\(answer.status) \(answer.text)")
            #expect(first.waitForExit(timeout: 30) == 130, "\(first.stderr)")
            #expect(!Stack.portOpen(listen) && !Stack.portOpen(emulatorPort))
        }
    }
}

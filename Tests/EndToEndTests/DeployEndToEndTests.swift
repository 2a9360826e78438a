import Foundation
import Glibc
import Testing

extension EndToEnd {
    /// What the sysadmin runs, under the real systemd: `Tests/DeployTests/deploy-test.sh` boots
    /// a Debian 12 container with systemd as PID 1 and drives the package, the units and the
    /// edge nginx profile as shipped (see the script, and the README's deploy guide).
    @Suite struct DeployEndToEndTests {
        @Test func thePackageDeploysUnderSystemdAndSurvivesRestartsStopAndPurge() throws {
            guard let release = Paths.release, FileManager.default.isExecutableFile(atPath: release) else {
                Issue.record("RELEASE_BIN is not set to the release binary: run the test command (make test)")
                return
            }
            guard getuid() == 0 else { Issue.record("the deploy test needs root (a container with systemd)"); return }
            let dir = tempDir("deploy")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let (built, output) = try run("/bin/bash", [Paths.root + "/scripts/make-deb.sh", release, dir], env: ["DEB_COMPRESSION": "gzip"])
            #expect(built == 0, "\(output)")
            let deb = try #require(output.split(separator: "\n").last.map(String.init))
            let began = Date()
            let (code, log) = try run("/bin/bash", [Paths.root + "/Tests/DeployTests/deploy-test.sh", deb, Paths.emulator])
            #expect(code == 0, "\(log.suffix(4000))")
            // What it checked, in the test output (and how long it took: it counts against CI's budget).
            for line in log.split(separator: "\n") where line.hasPrefix("== ") || line.hasPrefix("   ") { print(line) }
            print("deploy test took \(Int(Date().timeIntervalSince(began))) s")
        }
    }
}

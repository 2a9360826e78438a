import Foundation
import Glibc
import StrictJSON
import Testing

extension EndToEnd {
    /// What a sysadmin installs: the Debian package made of the release binary, installed on
    /// this machine with dpkg, serving behind its own nginx file, then removed without a trace.
    @Suite struct PackageEndToEndTests {
        static let package = "teleconsultation-backend"

        /// The shared libraries the release binary links (its ELF `NEEDED` entries), exactly:
        /// Debian's own, no Swift runtime. A library added or dropped fails the test until this
        /// list is updated on purpose.
        /// libz: swift-nio-extras (AsyncHTTPClient's decompression) links it besides its bundled copy.
        /// libfcgi: it speaks FastCGI for the app (Debian's libfcgi0ldbl, in the package's Depends).
        static let linkedLibraries: Set<String> = ["ld-linux-x86-64.so.2", "libc.so.6", "libfcgi.so.0", "libgcc_s.so.1", "libm.so.6", "libstdc++.so.6", "libz.so.1"]

        @Test func thePackageInstallsServesBehindItsNginxFileAndLeavesNothingBehind() async throws {
            guard let release = Paths.release, FileManager.default.isExecutableFile(atPath: release) else {
                Issue.record("RELEASE_BIN is not set to the release binary: run the test command (make test)")
                return
            }
            guard getuid() == 0 else { Issue.record("installing a package needs root"); return }
            let dir = tempDir("deb")
            let (built, output) = try run("/bin/bash", [Paths.root + "/scripts/make-deb.sh", release, dir], env: ["DEB_COMPRESSION": "gzip"])
            #expect(built == 0, "\(output)")
            let deb = try #require(output.split(separator: "\n").last.map(String.init))
            let (lint, findings) = try run("/usr/bin/lintian", ["--fail-on", "error,warning", deb])
            #expect(lint == 0, "lintian: \(findings)")

            // Whatever happens below, the machine is left as it was.
            defer { _ = try? run("/usr/bin/dpkg", ["--purge", "--force-all", Self.package]) }
            let (installed, log) = try run("/usr/bin/dpkg", ["-i", deb])
            #expect(installed == 0, "\(log)")
            let files = try run("/usr/bin/dpkg", ["-L", Self.package]).1.split(separator: "\n").map(String.init)
            for path in ["/usr/bin/teleconsultation-backend", "/lib/systemd/system/teleconsultation-backend.service",
                         "/lib/systemd/system/teleconsultation-backend.socket", "/lib/systemd/system/teleconsultation-backend-sweep.service",
                         "/lib/systemd/system/teleconsultation-backend-sweep.timer", "/etc/teleconsultation-backend/env",
                         "/etc/teleconsultation-backend/config.json", "/etc/nginx/conf.d/teleconsultation-backend.conf.disabled",
                         "/usr/share/doc/teleconsultation-backend/nginx-behind-gateway.conf", "/usr/share/man/man8/teleconsultation-backend.8.gz"] {
                #expect(files.contains(path), "\(path) is not in the package")
            }
            // The peer secret: made by the postinst, root's alone, the same in both files, and
            // kept when the package is installed again (as by an upgrade).
            let secretFile = "/etc/teleconsultation-backend/peer-secret"
            let nginxSecretFile = "/etc/teleconsultation-backend/nginx-peer-secret.conf"
            for path in [secretFile, nginxSecretFile] {
                let attributes = try FileManager.default.attributesOfItem(atPath: path)
                #expect(attributes[.posixPermissions] as? Int == 0o600 && attributes[.ownerAccountID] as? Int == 0, "\(path): \(attributes)")
            }
            let secret = try String(contentsOfFile: secretFile, encoding: .utf8).trimmingCharacters(in: .newlines)
            #expect(secret.count == 64 && secret.allSatisfy(\.isHexDigit))
            #expect(try String(contentsOfFile: nginxSecretFile, encoding: .utf8).contains("fastcgi_param TELECONSULTATION_PEER_SECRET \"\(secret)\";"))
            #expect(try run("/usr/bin/dpkg", ["-i", deb]).0 == 0)
            #expect(try String(contentsOfFile: secretFile, encoding: .utf8).trimmingCharacters(in: .newlines) == secret, "reinstalling replaced the peer secret")

            // Only Debian's own libraries: no Swift toolchain needed at run time.
            let (read, dynamic) = try run("/usr/bin/readelf", ["--dynamic", "--wide", "/usr/bin/teleconsultation-backend"])
            #expect(read == 0, "\(dynamic)")
            let needed = Set(dynamic.split(separator: "\n").filter { $0.contains("(NEEDED)") }.compactMap { line in
                line.split(separator: "[").last?.split(separator: "]").first.map(String.init)
            })
            #expect(needed == Self.linkedLibraries, "linked: \(needed.sorted()); unexpected: \(needed.subtracting(Self.linkedLibraries).sorted()); missing: \(Self.linkedLibraries.subtracting(needed).sorted())")
            // ... and each is found, in Debian's library directories.
            let (_, libraries) = try run("/usr/bin/ldd", ["/usr/bin/teleconsultation-backend"])
            #expect(!libraries.contains("not found"), "\(libraries)")
            for line in libraries.split(separator: "\n") where line.contains("=>") {
                #expect(line.contains("=> /lib/x86_64-linux-gnu/") || line.contains("=> /lib64/"), "\(line)")
            }
            // Not configured yet: it refuses to start and names what is missing.
            let (refused, why) = try run("/bin/sh", ["-c", "set -a; . /etc/teleconsultation-backend/env; exec /usr/bin/teleconsultation-backend --check-config"])
            #expect(refused == 1 && why.contains("BANDYER_API_SECRET_KEY"), "\(why)")

            // The installed binary behind the installed edge profile, with the installed config and secret.
            let profile = "/etc/nginx/conf.d/teleconsultation-backend.conf.disabled"
            try await withStack("installed", env: ["TELECONSULTATION_SERVICE_CONFIG_PATH": "/etc/teleconsultation-backend/config.json"],
                                profile: .installedEdge(path: profile), appPath: "/usr/bin/teleconsultation-backend", peerSecret: secret) { s in
                try await s.seedAuth0(#"[{"user_id":"dr-who","groups":["doctor"],"token":"t-doc"},{"user_id":"pat-1","groups":["patient"],"token":"t-pat"}]"#)
                let created = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctorJSON),\#(patientJSON)]},"start_date":"\#(iso(-60))","end_date":"\#(iso(900))"}"#,
                                               headers: ["authorization": "Bearer t-doc"])
                #expect(created.status == 201, "\(created.text)")
                let id = created.json?["roomId"]?.stringValue ?? ""
                let link = try await s.call("GET", "/teleconsultation/\(id)", headers: ["authorization": "Bearer t-pat", "miauserid": "dr-who"])
                #expect(link.status == 200 && link.json?["accessLinkURL"]?.stringValue?.contains("/join/") == true, "\(link.text)")
                #expect(try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "dr-who"]).status == 401)
            }

            #expect(try run("/usr/bin/dpkg", ["-r", Self.package]).0 == 0)
            #expect(!FileManager.default.fileExists(atPath: "/usr/bin/teleconsultation-backend"))
            #expect(FileManager.default.fileExists(atPath: "/etc/teleconsultation-backend/env"), "conffiles stay until purge")
            #expect(try run("/usr/bin/dpkg", ["-P", Self.package]).0 == 0)
            for path in files where path != "/." && !["/etc", "/etc/nginx", "/etc/nginx/conf.d", "/lib", "/lib/systemd", "/lib/systemd/system", "/usr", "/usr/lib",
                                                        "/usr/bin", "/usr/share", "/usr/share/doc", "/usr/share/man", "/usr/share/man/man8",
                                                        "/usr/share/lintian", "/usr/share/lintian/overrides"].contains(path) {
                #expect(!FileManager.default.fileExists(atPath: path), "\(path) is left after purge")
            }
            #expect(!FileManager.default.fileExists(atPath: "/etc/teleconsultation-backend"), "the peer secret is left after purge")
            let (_, processes) = try run("/usr/bin/pgrep", ["-f", "^/usr/bin/teleconsultation-backend"])
            #expect(processes.isEmpty, "a process is left: \(processes)")
        }
    }
}

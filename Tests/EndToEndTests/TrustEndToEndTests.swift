import Foundation
import Glibc
import StrictJSON
import Testing

/// Sends raw bytes to a TCP port and returns what came back (for request lines no HTTP
/// client would send).
func rawHTTP(_ bytes: [UInt8], port: Int) -> [UInt8] {
    guard let fd = connectToLoopback(port: port) else { return [] }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        out += buffer[0..<n]
    }
    return out
}

/// The listening TCP sockets of this machine on `port`, as local addresses (from /proc/net/tcp).
func listeningAddresses(port: Int) -> [String] {
    guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return [] }
    var out: [String] = []
    for line in table.split(separator: "\n").dropFirst() {
        let f = line.split(separator: " ", omittingEmptySubsequences: true)
        guard f.count > 3, f[3] == "0A" else { continue }
        let local = f[1].split(separator: ":")
        guard local.count == 2, Int(local[1], radix: 16) == port, let ip = UInt32(local[0], radix: 16) else { continue }
        out.append("\(ip & 0xFF).\(ip >> 8 & 0xFF).\(ip >> 16 & 0xFF).\(ip >> 24)")
    }
    return out
}

extension EndToEnd {
    /// What the shipped nginx files let in: identities nobody can claim, and nginx's own
    /// answers in JSON.
    @Suite struct TrustEndToEndTests {
        static let users = #"""
        [{"user_id":"dr-who","name":"Dr Who","groups":["doctor"],"token":"t-doc"},
         {"user_id":"pat-1","name":"Pat One","groups":["patient"],"token":"t-pat"},
         {"user_id":"eve","name":"Eve","groups":["patient"],"token":"t-eve"}]
        """#

        @Test func atTheEdgeAForgedIdentityNeverObtainsALinkAndALoggedInCallerDoes() async throws {
            try await withStack("edge", profile: .edge) { s in
                try await s.seedAuth0(Self.users)
                let doctor = ["authorization": "Bearer t-doc"]
                let created = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctorJSON),\#(patientJSON)]},"start_date":"\#(iso(-60))","end_date":"\#(iso(1800))"}"#, headers: doctor)
                #expect(created.status == 201, "\(created.text)")
                let id = try #require(created.json?["roomId"]?.stringValue)
                let doc = try #require(try await s.teleconsultations().first)
                let patientLink = doc["participants"]?.arrayValue?[1]["accessLinkURL"]?.stringValue
                let doctorLink = doc["participants"]?.arrayValue?[0]["accessLinkURL"]?.stringValue
                #expect(patientLink != nil && doctorLink != nil)
                // Creating was done by the logged-in doctor: the CRUD saw nginx's identity.
                #expect(try await s.requests(service: "crud").allSatisfy { $0["headers"]?["miauserid"] == "dr-who" })

                _ = try await s.control("DELETE", "/requests")
                // Not logged in, whatever identity headers come along: 401 in JSON, the route never runs.
                for forged in [["miauserid": "dr-who"], ["MiaUserId": "dr-who"], ["miauserid": "pat-1", "miausergroups": "doctor"],
                               ["miauserid": "dr-who", "authorization": "Bearer not-a-token"], ["miauserid": "dr-who", "cookie": "sid=nope"]] {
                    let r = try await s.call("GET", "/teleconsultation/\(id)", headers: forged)
                    #expect(r.status == 401 && r.json == ["statusCode": 401, "error": "Unauthorized user", "message": "Unauthorized user"], "\(forged): \(r.status) \(r.text)")
                    #expect(!r.text.contains("http"))
                }
                #expect(try await s.requests(service: "crud").isEmpty, "an unauthenticated request reached the route")
                // Logged in as someone else, claiming a participant: that participant's link never comes back.
                let eve = try await s.call("GET", "/teleconsultation/\(id)", headers: ["authorization": "Bearer t-eve", "miauserid": "pat-1"])
                #expect(eve.status == 401 && !eve.text.contains(patientLink ?? "-"))
                let patClaimingDoctor = try await s.call("GET", "/teleconsultation/\(id)", headers: ["authorization": "Bearer t-pat", "miauserid": "dr-who"])
                #expect(patClaimingDoctor.status == 200 && patClaimingDoctor.json?["accessLinkURL"]?.stringValue == patientLink)
                #expect(!patClaimingDoctor.text.contains(doctorLink ?? "-"))
                // A logged-in caller gets their own link, by bearer token or by cookie.
                let byToken = try await s.call("GET", "/teleconsultation/\(id)", headers: ["authorization": "Bearer t-doc"])
                #expect(byToken.status == 200 && byToken.json?["accessLinkURL"]?.stringValue == doctorLink)
                let byCookie = try await s.call("GET", "/teleconsultation/\(id)", headers: ["cookie": "theme=dark; sid=t-pat"])
                #expect(byCookie.status == 200 && byCookie.json?["accessLinkURL"]?.stringValue == patientLink)

                // Health and the API document need no login; the identity route is not reachable from outside.
                #expect(try await s.call("GET", "/-/healthz").status == 200)
                #expect(try await s.call("GET", "/documentation/json").status == 200)
                let identity = try await s.call("GET", "/-/identity", headers: doctor)
                #expect(identity.status == 404 && identity.json?["statusCode"] == 404)
                let root = try await http("GET", "http://127.0.0.1:\(s.port)/-/identity", headers: doctor)
                #expect(root.status == 404 && root.json?["statusCode"] == 404)
                let subrequest = try await http("GET", "http://127.0.0.1:\(s.port)/_identity", headers: doctor)
                #expect(subrequest.status == 404 && subrequest.json?["statusCode"] == 404)

                // auth0-client down: the identity check cannot be made, and says so in JSON.
                try await s.fault(#"{"service":"auth0","path":"/userinfo","status":503}"#)
                let down = try await s.call("GET", "/teleconsultation/\(id)", headers: doctor)
                #expect(down.status == 503 && down.json?["message"] == "The identity check is unavailable", "\(down.status) \(down.text)")
            }
        }

        @Test func behindAGatewayNginxListensOnLoopbackOnlyAndPassesTheGatewaysIdentity() async throws {
            let shipped = try String(contentsOfFile: Paths.root + "/deploy/nginx-behind-gateway.conf", encoding: .utf8)
            #expect(shipped.contains("LOOPBACK ONLY") && shipped.contains("    listen 127.0.0.1:8080;"))
            #expect(!shipped.contains("auth_request"))
            try await withStack("gateway", profile: .gateway) { s in
                #expect(listeningAddresses(port: s.port) == ["127.0.0.1"], "\(listeningAddresses(port: s.port))")
                let id = try await s.create([doctorJSON, patientJSON])
                let r = try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "pat-1"])
                #expect(r.status == 200 && r.json?["accessLinkURL"]?.stringValue != nil)
            }
            // The edge file listens where clients are.
            try await withStack("edge-listen", profile: .edge) { s in
                #expect(listeningAddresses(port: s.port) == ["0.0.0.0"])
            }
        }

        static let rawRequests: [[UInt8]] = [
            Array("FOO123 / HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
            Array("get /api/v1/telecons-be/-/healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
            Array("GARBAGE\r\n\r\n".utf8),
            Array("GET /api/v1/telecons-be/-/healthz HTTP/9.9\r\nHost: x\r\n\r\n".utf8),
            Array("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n".utf8),
            Array("POST /api/v1/telecons-be/teleconsultation HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n".utf8),
            Array("GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
            Array("GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "b", count: 20_000))\r\n\r\n".utf8),
            Array("GET /%00 HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
            Array("GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
            Array("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n".utf8),
            Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8),
            [0x16, 0x03, 0x01, 0x00, 0xA5, 0x01, 0x00, 0x00, 0xA1, 0x03, 0x03] + [UInt8](repeating: 0, count: 40),
            Array("DELETE /api/v1/telecons-be/documentation/json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8),
        ]

        @Test(arguments: [NginxProfile.edge, .gateway])
        func everyAnswerNginxGivesIsJSONInTheErrorShape(_ profile: NginxProfile) async throws {
            try await withStack("raw-\(profile.argument)", profile: profile) { s in
                for raw in Self.rawRequests {
                    let answer = rawHTTP(raw, port: s.port)
                    let text = String(decoding: answer, as: UTF8.self)
                    let parts = text.components(separatedBy: "\r\n\r\n")
                    let statusLine = parts.first?.split(separator: "\r\n").first ?? ""
                    let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) }
                    let label = String(decoding: raw.prefix(30), as: UTF8.self)
                    #expect(status != nil && status! >= 400, "\(label): \(statusLine)")
                    #expect(parts.first?.lowercased().contains("content-type: application/json") == true, "\(label): \(text.prefix(300))")
                    let body = try? JSONParser.parse(Array((parts.dropFirst().first ?? "").utf8))
                    #expect(body?["statusCode"]?.intValue == status && body?["error"]?.stringValue != nil && body?["message"]?.stringValue != nil,
                            "\(label): \(text.prefix(300))")
                }
            }
        }
    }
}

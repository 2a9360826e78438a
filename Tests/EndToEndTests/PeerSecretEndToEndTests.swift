import Foundation
import StrictJSON
import Testing

extension EndToEnd {
    /// No side door to an identity: with a peer secret, as the package sets it up, the app serves
    /// nginx and nothing else that can reach its socket (on Debian, www-data is also php-fpm's
    /// and every CGI's user).
    @Suite struct PeerSecretEndToEndTests {
        static let secret = "e2e-peer-secret-0123456789abcdef0123456789abcdef"

        /// A request straight to the app's socket, as any process in the socket's group can send
        /// it (cgi-fcgi sends its environment as the params): status and body.
        func direct(_ socket: String, _ uri: String, params: [String: String]) throws -> (status: Int?, body: String) {
            let (_, out) = try run("/usr/bin/cgi-fcgi", ["-bind", "-connect", socket],
                                   env: ["REQUEST_METHOD": "GET", "REQUEST_URI": uri].merging(params) { $1 })
            let parts = out.components(separatedBy: "\r\n\r\n")
            let status = parts.first?.split(separator: "\r\n").first { $0.hasPrefix("Status: ") }
                .flatMap { Int($0.dropFirst("Status: ".count).prefix(3)) }
            return (status, parts.dropFirst().joined(separator: "\r\n\r\n"))
        }

        @Test func aDirectFastCGIPeerWithoutTheSecretCannotClaimAnIdentityWhileNginxCan() async throws {
            try await withStack("peer-secret", profile: .edge, peerSecret: Self.secret) { s in
                let app = try #require(s.app)
                #expect(app.stderr.contains(#""peerSecret":"required""#), "\(app.stderr)")
                try await s.seedAuth0(#"[{"user_id":"dr-who","name":"Dr Who","groups":["doctor"],"token":"t-doc"}]"#)
                let doctor = ["authorization": "Bearer t-doc"]
                let created = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctorJSON),\#(patientJSON)]},"start_date":"\#(iso(-60))","end_date":"\#(iso(1800))"}"#, headers: doctor)
                #expect(created.status == 201, "\(created.text)")
                let id = try #require(created.json?["roomId"]?.stringValue)
                let doctorLink = try #require(try await s.teleconsultations().first?["participants"]?.arrayValue?[0]["accessLinkURL"]?.stringValue)

                // Through nginx, the logged-in doctor gets the link.
                let viaNginx = try await s.call("GET", "/teleconsultation/\(id)", headers: doctor)
                #expect(viaNginx.status == 200 && viaNginx.json?["accessLinkURL"]?.stringValue == doctorLink, "\(viaNginx.text)")

                // Straight to the socket, claiming the doctor as nginx would after its identity check:
                // no secret, a wrong one, the secret as a client header (HTTP_*): refused, in JSON.
                _ = try await s.control("DELETE", "/requests")
                let uri = "/api/v1/telecons-be/teleconsultation/\(id)"
                for params in [["HTTP_MIAUSERID": "dr-who"],
                               ["HTTP_MIAUSERID": "dr-who", "TELECONSULTATION_PEER_SECRET": Self.secret.uppercased()],
                               ["HTTP_MIAUSERID": "dr-who", "TELECONSULTATION_PEER_SECRET": String(Self.secret.dropLast())],
                               ["HTTP_MIAUSERID": "dr-who", "TELECONSULTATION_PEER_SECRET": ""],
                               ["HTTP_MIAUSERID": "dr-who", "HTTP_TELECONSULTATION_PEER_SECRET": Self.secret]] {
                    let r = try direct(s.socketPath, uri, params: params)
                    let body = try? JSONParser.parse(Array(r.body.utf8))
                    #expect(r.status == 403 && body?["statusCode"] == 403 && body?["error"] == "Forbidden" && body?["message"]?.stringValue != nil,
                            "\(params.keys.sorted()): \(r)")
                    #expect(!r.body.contains(doctorLink) && !r.body.contains("http"))
                }
                // Not even the health routes answer a stranger.
                #expect(try direct(s.socketPath, "/-/healthz", params: [:]).status == 403)
                #expect(try await s.requests(service: "crud").isEmpty, "a refused request reached a route")

                // The same request with the secret is served: the refusal rests on the secret alone.
                let withSecret = try direct(s.socketPath, uri, params: ["HTTP_MIAUSERID": "dr-who", "TELECONSULTATION_PEER_SECRET": Self.secret])
                #expect(withSecret.status == 200 && withSecret.body.contains(doctorLink), "\(withSecret)")

                // Refusals are logged with their cause; the secret never is.
                #expect(waitUntil { app.stderr.contains(#""peerSecret":"missing""#) && app.stderr.contains(#""peerSecret":"wrong""#) }, "\(app.stderr)")
                #expect(!app.stderr.contains(Self.secret) && !app.stderr.contains(String(Self.secret.dropLast())))
            }
        }
    }
}

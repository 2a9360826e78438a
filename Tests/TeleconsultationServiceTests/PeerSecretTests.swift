import HTTPTypes
import Responder
import StrictJSON
import Testing
@testable import TeleconsultationService

/// The web server's secret: without it, or with another one, no request is routed.
@Suite struct PeerSecretTests {
    static let secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

    func app(_ secret: String?, logs: LogRecorder = LogRecorder()) -> Application {
        var router = Router<Handler>()
        PlatformRoutes.register(in: &router, readiness: Readiness(), metrics: ServiceMetrics(), openAPI: ["openapi": "3.0.3"])
        router.add(.get, "/whoami") { context in .json(.ok, ["user": .string(context.header("miauserid") ?? "")]) }
        return Application(routes: router, basePath: "/api/v1/telecons-be", requestTimeout: .seconds(1), logger: logs.logger,
                           metrics: ServiceMetrics(), peerSecret: secret.map(PeerSecret.init))
    }

    func request(_ path: String, variables: [String: String]) -> Request {
        var headers = HTTPFields()
        headers[HTTPField.Name("miauserid")!] = "dr-who"
        headers[HTTPField.Name("x-request-id")!] = "req-7"
        return Request(head: HTTPRequest(method: .get, scheme: nil, authority: nil, path: path, headerFields: headers),
                       serverVariables: variables)
    }

    @Test func aRequestWithoutTheSecretOrWithAnotherIsRefusedBeforeAnyRoute() async throws {
        let logs = LogRecorder()
        let a = app(Self.secret, logs: logs)
        let others: [[String: String]] = [
            [:], ["TELECONSULTATION_PEER_SECRET": ""], ["TELECONSULTATION_PEER_SECRET": String(Self.secret.dropLast())],
            ["TELECONSULTATION_PEER_SECRET": Self.secret + "0"], ["TELECONSULTATION_PEER_SECRET": Self.secret.uppercased()],
            ["OTHER": Self.secret],
        ]
        for variables in others {
            for path in ["/whoami", "/api/v1/telecons-be/-/healthz", "/nope"] {
                let r = await a.respond(to: request(path, variables: variables))
                #expect(r.status == .forbidden, "\(variables) \(path)")
                #expect(try JSONParser.parse(r.body) == ["statusCode": 403, "error": "Forbidden",
                                                         "message": "The request did not come through the configured web server"])
                #expect(r.head.headerFields[HTTPField.Name("x-request-id")!] == "req-7")
            }
        }
        // Why, in the log (missing or wrong), with the request id; never the secret.
        #expect(logs.text.contains(#""peerSecret":"missing""#) && logs.text.contains(#""peerSecret":"wrong""#))
        #expect(logs.text.contains(#""route":"refused""#) && logs.text.contains(#""reqId":"req-7""#))
        #expect(!logs.text.contains(Self.secret) && !logs.text.contains(String(Self.secret.dropLast())))
    }

    @Test func aRequestWithTheSecretIsServed() async throws {
        let r = await app(Self.secret).respond(to: request("/whoami", variables: ["TELECONSULTATION_PEER_SECRET": Self.secret]))
        #expect(try r.status == .ok && JSONParser.parse(r.body) == ["user": "dr-who"])
    }

    @Test func withoutASecretConfiguredEveryPeerIsServedAsBefore() async throws {
        let r = await app(nil).respond(to: request("/whoami", variables: [:]))
        #expect(try r.status == .ok && JSONParser.parse(r.body) == ["user": "dr-who"])
    }

    @Test func theComparisonIsExactWhateverTheLengths() {
        let s = Array(Self.secret.utf8)
        #expect(PeerSecret.constantTimeEquals(s, s))
        #expect(!PeerSecret.constantTimeEquals([], s))
        #expect(!PeerSecret.constantTimeEquals(Array(s.dropLast()), s))
        #expect(!PeerSecret.constantTimeEquals(s + [0], s))
        // Lengths that differ by a multiple of 256 with equal bytes where both have them.
        #expect(!PeerSecret.constantTimeEquals(s + [UInt8](repeating: 0, count: 256), s))
        var flipped = s
        flipped[flipped.count - 1] ^= 1
        #expect(!PeerSecret.constantTimeEquals(flipped, s))
    }

    @Test func theFileHoldsOneLineOfAtLeast32SafeCharacters() {
        #expect(PeerSecret.parse(fileContents: Array((Self.secret + "\n").utf8)) == Self.secret)
        #expect(PeerSecret.parse(fileContents: Array((Self.secret + "\r\n").utf8)) == Self.secret)
        #expect(PeerSecret.parse(fileContents: Array(Self.secret.utf8)) == Self.secret)
        #expect(PeerSecret.parse(fileContents: Array("aB3+/=._~-".utf8) + Array(repeating: UInt8(ascii: "x"), count: 22)) != nil)
        for bad in ["", "\n", String(Self.secret.prefix(31)), Self.secret + "\n\n", " " + Self.secret, Self.secret + "\"",
                    Self.secret + "$x", Self.secret + ";", Self.secret + "\\", String(repeating: "a", count: 1025)] {
            #expect(PeerSecret.parse(fileContents: Array(bad.utf8)) == nil, "\(bad.debugDescription)")
        }
    }

    func load(_ env: [String: String], files: [String: String]) throws(ConfigurationError) -> Configuration {
        var environment = ["BANDYER_API_SECRET_KEY": "k", "BANDYER_BASE_URL": "https://sandbox.bandyer.com/rest"]
        for (k, v) in env { environment[k] = v }
        return try Configuration.load(environment: environment) { path in
            guard let text = files[path] else { throw ConfigurationError(key: "test", reason: "no such file") }
            return Array(text.utf8)
        }
    }

    @Test func theConfigurationReadsTheSecretFromItsFileAndNamesTheKeyWhenItCannot() throws {
        #expect(try load([:], files: [:]).peerSecret == nil)
        let c = try load(["FCGI_PEER_SECRET_FILE": "/run/credentials/x/peer-secret"], files: ["/run/credentials/x/peer-secret": Self.secret + "\n"])
        #expect(c.peerSecret == Self.secret)
        #expect(Configuration.keys.contains("FCGI_PEER_SECRET_FILE"))
        for (env, files) in [(["FCGI_PEER_SECRET_FILE": "/nowhere"], [String: String]()),
                             (["FCGI_PEER_SECRET_FILE": "/short"], ["/short": "tooshort\n"]),
                             (["FCGI_PEER_SECRET_FILE": "/quoted"], ["/quoted": "\"" + Self.secret + "\""]),
                             (["FCGI_PEER_SECRET_FILE": ""], [:])] {
            do {
                _ = try load(env, files: files)
                Issue.record("\(env) was accepted")
            } catch {
                #expect(error.key == "FCGI_PEER_SECRET_FILE")
                #expect(!error.reason.contains(Self.secret) && !error.reason.contains("tooshort"), "\(error.reason)")
            }
        }
    }
}

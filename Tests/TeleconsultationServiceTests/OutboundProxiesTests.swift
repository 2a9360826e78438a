import Testing
@testable import TeleconsultationService

/// HTTPS_PROXY, HTTP_PROXY and NO_PROXY: which call goes through which proxy, as a table.
@Suite struct OutboundProxiesTests {
    func proxies(_ env: [String: String]) throws(ConfigurationError) -> OutboundProxies {
        var warnings: [String] = []
        return try OutboundProxies.load(environment: env, warnings: &warnings)
    }

    @Test func httpsAndHttpURLsTakeTheirOwnProxyUnlessNoProxyNamesTheHost() throws {
        let p = try proxies(["HTTPS_PROXY": "http://egress:3128", "http_proxy": "proxy.lan:8080",
                             "NO_PROXY": "crud-service, .internal.example,Auth.Example:8443 10.1.2.3,[::1]:9000"])
        let table: [(scheme: String, host: String, port: Int, expected: String?)] = [
            ("https", "api.kaleyra.example", 443, "egress:3128"),
            ("http", "api.kaleyra.example", 80, "proxy.lan:8080"),
            ("http", "crud-service", 80, nil),                      // a host name
            ("https", "CRUD-SERVICE", 443, nil),                    // any case
            ("http", "x.crud-service", 80, nil),                    // and the hosts under it
            ("http", "notcrud-service", 80, "proxy.lan:8080"),      // not a suffix of a label
            ("https", "a.b.internal.example", 443, nil),            // `.domain`
            ("https", "internal.example", 443, nil),
            ("https", "auth.example", 8443, nil),                   // host:port
            ("https", "auth.example", 443, "egress:3128"),          // another port
            ("http", "10.1.2.3", 80, nil),                          // an address
            ("http", "10.1.2.30", 80, "proxy.lan:8080"),
            ("http", "::1", 9000, nil),                             // [v6]:port
            ("http", "[::1]", 9000, nil),
            ("http", "::1", 9001, "proxy.lan:8080"),
        ]
        for row in table {
            let chosen = p.proxy(scheme: row.scheme, host: row.host, port: row.port).map { "\($0.host):\($0.port)" }
            #expect(chosen == row.expected, "\(row)")
        }
    }

    @Test func aStarInNoProxyOrNoVariableMeansDirect() throws {
        #expect(try proxies(["HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"]).proxy(scheme: "https", host: "a", port: 443) == nil)
        #expect(try proxies(["HTTPS_PROXY": "http://p:1"]).proxy(scheme: "http", host: "a", port: 80) == nil, "HTTPS_PROXY is for https only")
        #expect(try proxies([:]).proxy(scheme: "https", host: "a", port: 443) == nil)
        #expect(try proxies(["HTTPS_PROXY": ""]).https == nil, "empty is unset")
    }

    @Test func lowerCaseWinsAndADifferenceIsAWarning() throws {
        var warnings: [String] = []
        let p = try OutboundProxies.load(environment: ["https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2",
                                                       "no_proxy": "a", "NO_PROXY": "b"], warnings: &warnings)
        #expect(p.https?.host == "lower" && p.exceptions == [.host("a")])
        #expect(warnings.contains("https_proxy and HTTPS_PROXY differ: https_proxy is used"))
    }

    @Test func credentialsAreKeptDecodedButNeverShown() throws {
        let p = try proxies(["HTTPS_PROXY": "http://al%40ice:p%3Ass@egress:3128/"])
        let s = try #require(p.https)
        #expect(s.username == "al@ice" && s.password == "p:ss" && s.port == 3128)
        #expect(s.description == "http://***:***@egress:3128")
        #expect(p.route(for: "https://api.example/v2") == "via http://***:***@egress:3128")
        #expect(p.route(for: "http://api.example/v2") == "direct")
    }

    @Test func anUnusableProxyURLIsAStartupErrorNamingTheVariable() {
        for (key, value) in [("HTTPS_PROXY", "https://egress:3128"), ("https_proxy", "socks5://egress:1080"),
                             ("HTTP_PROXY", "http://"), ("http_proxy", "http://p:3128/path"), ("HTTP_PROXY", "http://p:0")] {
            do {
                _ = try proxies([key: value])
                Issue.record("\(key)=\(value) was accepted")
            } catch {
                #expect(error.key == key, "\(error)")
            }
        }
        // The reason never quotes the URL (it may hold credentials).
        do { _ = try proxies(["HTTPS_PROXY": "ftp://user:s3cret@p"]) } catch { #expect(!error.reason.contains("s3cret")) }
    }

    @Test func theCAFileMustBeReadableAndHoldACertificate() throws {
        let required = ["BANDYER_API_SECRET_KEY": "secret", "BANDYER_BASE_URL": "https://b.example"]
        func load(_ file: String?) -> Result<Configuration, ConfigurationError> {
            Result { () throws(ConfigurationError) -> Configuration in
                try Configuration.load(environment: required.merging(["UPSTREAM_CA_FILE": "/etc/ca.pem"]) { a, _ in a }, readFile: { _ in
                    guard let file else { throw ConfigurationError(key: "x", reason: "missing") }
                    return Array(file.utf8)
                })
            }
        }
        #expect(try load("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").get().upstreamCAFile == "/etc/ca.pem")
        #expect(throws: ConfigurationError(key: "UPSTREAM_CA_FILE", reason: "cannot read /etc/ca.pem")) { try load(nil).get() }
        #expect(throws: ConfigurationError(key: "UPSTREAM_CA_FILE", reason: "/etc/ca.pem holds no PEM certificate")) { try load("junk").get() }
    }
}

import Testing
@testable import TeleconsultationDomain
@testable import TeleconsultationService

@Suite struct ConfigurationTests {
    let required = ["BANDYER_API_SECRET_KEY": "secret", "BANDYER_BASE_URL": "https://sandbox.bandyer.com/rest/"]

    func load(_ extra: [String: String], file: String? = nil) throws(ConfigurationError) -> Configuration {
        var env = required
        for (k, v) in extra { env[k] = v }
        return try Configuration.load(environment: env, readFile: { _ in
            guard let file else { throw ConfigurationError(key: "x", reason: "missing") }
            return Array(file.utf8)
        })
    }

    func failure(_ extra: [String: String], file: String? = nil) -> ConfigurationError? {
        do { _ = try load(extra, file: file); return nil } catch { return error }
    }

    @Test func everyDefault() throws {
        let c = try load([:])
        #expect(c.bandyerBaseURL == "https://sandbox.bandyer.com/rest")
        #expect(c.crudServiceURL == "http://crud-service")
        #expect(c.teleconsultationsCRUDName == "teleconsultations")
        #expect(c.userIdMapCRUDName == "teleconsultation-users")
        #expect(c.authServiceURL == nil && !c.isAuth0Mode)
        #expect(c.defaultClientType == nil)
        #expect(c.unlimitedTeleconsultation && c.liveTeleconsultation)
        #expect(c.immutablePeriodMilliseconds == 0)
        #expect(c.userIdHeaderKey == "miauserid")
        #expect(c.additionalHeadersToProxy.isEmpty)
        #expect(c.logLevel == .info)
        #expect(c.basePath == "/api/v1/telecons-be")
        #expect(c.timeouts.crud == .seconds(10) && c.timeouts.bandyer == .seconds(10) && c.timeouts.authService == .seconds(10))
        // The drain outlasts the longest request, its undo included, by 5 s.
        #expect(c.timeouts.request == .seconds(30) && c.timeouts.compensation == .seconds(5) && c.timeouts.shutdown == .seconds(40))
        #expect(c.timeouts.requestBound == .seconds(35) && c.warnings.isEmpty)
        #expect(c.clientTypeHeaderKey == "client-type")
        #expect(c.maxBodyBytes == 1 << 20 && c.maxInFlight == 1024)
        #expect(c.privileges == .default)
        #expect(c.userIdPathInRequest == [.init(from: .object, extract: "headers"), .init(from: .object, extract: "miauserid")])
        #expect(c.socket == nil && c.socketGroup == "www-data")
        #expect(c.nginxProfile == .edge)
    }

    @Test func overridesAndModes() throws {
        let c = try load(["AUTH_SERVICE": "auth0-client", "UPSTREAM_TIMEOUT_MS": "500", "CRUD_TIMEOUT_MS": "200",
                          "UNLIMITED_TELECONSULTATION": "0", "LIVE_TELECONSULTATION": "false", "USERID_HEADER_KEY": "X-User",
                          "NGINX_PROFILE": "gateway",
                          "ADDITIONAL_HEADERS_TO_PROXY": "Cookie, authorization", "BASE_PATH": "/api/", "IMMUTABLE_PERIOD_MS": "60000"])
        #expect(c.authServiceURL == "http://auth0-client" && c.isAuth0Mode)
        #expect(c.timeouts.crud == .milliseconds(200) && c.timeouts.bandyer == .milliseconds(500))
        #expect(!c.unlimitedTeleconsultation && !c.liveTeleconsultation)
        #expect(c.userIdHeaderKey == "x-user")
        #expect(c.additionalHeadersToProxy == ["cookie", "authorization"])
        #expect(c.basePath == "/api")
        #expect(c.immutablePeriodMilliseconds == 60_000)
    }

    @Test(arguments: [
        (["BANDYER_API_SECRET_KEY": ""], "BANDYER_API_SECRET_KEY"),
        (["BANDYER_BASE_URL": "ftp://x"], "BANDYER_BASE_URL"),
        (["UNLIMITED_TELECONSULTATION": "yes"], "UNLIMITED_TELECONSULTATION"),
        (["LIVE_TELECONSULTATION": "TRUE"], "LIVE_TELECONSULTATION"),
        (["IMMUTABLE_PERIOD_MS": "-1"], "IMMUTABLE_PERIOD_MS"),
        (["UPSTREAM_TIMEOUT_MS": "soon"], "UPSTREAM_TIMEOUT_MS"),
        (["LOG_LEVEL": "verbose"], "LOG_LEVEL"),
        (["BASE_PATH": "api"], "BASE_PATH"),
        (["TELECONSULTATIONS_CRUD_NAME": "a/b"], "TELECONSULTATIONS_CRUD_NAME"),
        (["CRUD_SERVICE_URL": "crud"], "CRUD_SERVICE_URL"),
        (["MAX_BODY_BYTES": "0"], "MAX_BODY_BYTES"),
        (["TELECONSULTATION_SERVICE_CONFIG_PATH": "/nope"], "TELECONSULTATION_SERVICE_CONFIG_PATH"),
        // Set but empty names the variable instead of meaning its default.
        (["AUTH_SERVICE": ""], "AUTH_SERVICE"),
        (["BASE_PATH": ""], "BASE_PATH"),
        (["DEFAULT_CLIENT_TYPE": ""], "DEFAULT_CLIENT_TYPE"),
        (["LOG_LEVEL": ""], "LOG_LEVEL"),
        (["CLIENTTYPE_HEADER_KEY": "a b"], "CLIENTTYPE_HEADER_KEY"),
        (["DEFAULT_RECORDING_TYPE": "always"], "DEFAULT_RECORDING_TYPE"),
        (["MAX_UPLOAD_BYTES": "0"], "MAX_UPLOAD_BYTES"),
        (["NGINX_PROFILE": "apache"], "NGINX_PROFILE"),
        (["NGINX_PROFILE": ""], "NGINX_PROFILE"),
        (["TELECONSULTATION_DELETE_UPLOADS": "on"], "TELECONSULTATION_DELETE_UPLOADS"),
        (["CUSTOM_ID_USERS_API_ENDPOINT": "http://crud/users/"], "CUSTOM_ID_USERS_API_ENDPOINT"),
        (["AUTH_SERVICE": "auth0", "CUSTOM_ID_USERS_API_ENDPOINT": "http://crud/users/"], "TELECONSULTATION_SERVICE_CONFIG_PATH customUserId"),
    ])
    func rejectionsNameTheKey(_ env: [String: String], _ key: String) {
        var e = required
        for (k, v) in env { e[k] = v }
        do {
            _ = try Configuration.load(environment: e, readFile: { _ in throw ConfigurationError(key: "", reason: "") })
            Issue.record("accepted \(env)")
        } catch {
            #expect(error.key == key)
        }
    }

    static let privileges = #""privileges":{"plus":{"groups":["d"]},"basic":{"groups":["p"]}}"#

    /// The edge profile sets (and strips) only miauserid: an id read from anywhere else, or a
    /// different header sent to the CRUD as the caller's, is what the caller says it is.
    @Test(arguments: [
        (["USERID_HEADER_KEY": "x-user-id"], nil, "USERID_HEADER_KEY"),
        ([:], #"[{"from":"object","extract":"headers"},{"from":"object","extract":"x-user-id"}]"#, "TELECONSULTATION_SERVICE_CONFIG_PATH userIdPathInRequest"),
        ([:], #"[{"from":"object","extract":"query"},{"from":"object","extract":"miauserid"}]"#, "TELECONSULTATION_SERVICE_CONFIG_PATH userIdPathInRequest"),
        ([:], #"[{"from":"object","extract":"params"},{"from":"object","extract":"userId"}]"#, "TELECONSULTATION_SERVICE_CONFIG_PATH userIdPathInRequest"),
        ([:], #"[{"from":"object","extract":"headers"},{"from":"object","extract":"miauserproperties"},{"from":"json","extract":"id"}]"#, "TELECONSULTATION_SERVICE_CONFIG_PATH userIdPathInRequest"),
        ([:], #"[{"from":"object","extract":"headers"}]"#, "TELECONSULTATION_SERVICE_CONFIG_PATH userIdPathInRequest"),
    ] as [([String: String], String?, String)])
    func theEdgeProfileRefusesAnIdentityItDoesNotSet(_ env: [String: String], _ path: String?, _ key: String) throws {
        var env = env
        let file = path.map { #"{\#(Self.privileges),"userIdPathInRequest":\#($0)}"# }
        if file != nil { env["TELECONSULTATION_SERVICE_CONFIG_PATH"] = "/cfg.json" }
        // By default (the package installs the edge profile) and when said.
        for profile in [nil, "edge"] {
            var e = env
            e["NGINX_PROFILE"] = profile
            let refused = try #require(failure(e, file: file), "accepted \(e) \(file ?? "")")
            #expect(refused.key == key && refused.reason.contains("NGINX_PROFILE is edge"), "\(refused)")
        }
        // Behind a trusted gateway the same configuration is the gateway's business.
        env["NGINX_PROFILE"] = "gateway"
        let accepted = try load(env, file: file)
        #expect(accepted.nginxProfile == .gateway)
    }

    @Test func theEdgeProfileAcceptsItsOwnHeaderWhateverItsSpelling() throws {
        #expect(try load(["USERID_HEADER_KEY": "MiaUserId"]).userIdHeaderKey == "miauserid")
        let file = #"{\#(Self.privileges),"userIdPathInRequest":[{"from":"object","extract":"headers"},{"from":"object","extract":"miauserid"}]}"#
        #expect(try load(["TELECONSULTATION_SERVICE_CONFIG_PATH": "/cfg.json", "NGINX_PROFILE": "edge"], file: file).nginxProfile == .edge)
    }

    @Test func theProviderDialectFollowsTheBaseURLUnlessSet() throws {
        #expect(try load([:]).bandyerAPIVersion == .v1)
        #expect(try load(["BANDYER_BASE_URL": "https://api.sandbox.eu.bandyer.com/v2"]).bandyerAPIVersion == .v2)
        #expect(try load(["BANDYER_BASE_URL": "https://api.sandbox.eu.bandyer.com/v2/"]).bandyerAPIVersion == .v2)
        #expect(try load(["BANDYER_BASE_URL": "https://x/v2", "BANDYER_API_VERSION": "v1"]).bandyerAPIVersion == .v1)
        #expect(try load(["BANDYER_API_VERSION": "v2"]).bandyerAPIVersion == .v2)
        #expect(failure(["BANDYER_API_VERSION": "v3"])?.key == "BANDYER_API_VERSION")
        #expect(try load([:]).sweepGraceMilliseconds == 3_600_000)
    }

    @Test func theLaterRoutesSettings() throws {
        let c = try load([:])
        #expect(!c.deleteUploads && c.maxUploadBytes == 10_485_760 && c.recordingType == .none && c.customIdUsersEndpoint == nil)
        #expect(c.groupsWithBackgroundList == nil && c.identityServiceURL == nil)
        let file = #"{"privileges":{"plus":{"groups":["d"]},"basic":{"groups":["p"]}},"groupsWithBackgroundList":["d"],"customUserId":{"source":"cid","target":"aid"}}"#
        let custom = try load(["AUTH_SERVICE": "auth0-client", "CUSTOM_ID_USERS_API_ENDPOINT": "crud-service/users/", "TELECONSULTATION_DELETE_UPLOADS": "true",
                               "DEFAULT_RECORDING_TYPE": "manual", "TELECONSULTATION_SERVICE_CONFIG_PATH": "/c.json"], file: file)
        #expect(custom.customIdUsersEndpoint == "http://crud-service/users/" && custom.customUserId == .init(source: "cid", target: "aid"))
        #expect(custom.deleteUploads && custom.recordingType == .manual && custom.groupsWithBackgroundList == ["d"])
        #expect(custom.identityServiceURL == "http://auth0-client")
        #expect(failure(["TELECONSULTATION_SERVICE_CONFIG_PATH": "/c.json"], file: file)?.key == "CUSTOM_ID_USERS_API_ENDPOINT")
        #expect(failure(["TELECONSULTATION_SERVICE_CONFIG_PATH": "/c.json"],
                        file: #"{"privileges":{"plus":{"groups":["d"]},"basic":{"groups":["p"]}},"groupsWithBackgroundList":[1]}"#)?.key
                == "TELECONSULTATION_SERVICE_CONFIG_PATH groupsWithBackgroundList.0")
    }

    @Test func anEmptyListOfHeadersIsAllowed() throws {
        #expect(try load(["ADDITIONAL_HEADERS_TO_PROXY": ""]).additionalHeadersToProxy.isEmpty)
    }

    @Test func framingAndHopByHopHeadersAreNeverProxiedAndTheRequestIdOnlyOnce() throws {
        let c = try load(["ADDITIONAL_HEADERS_TO_PROXY": "x-forwarded-for,x-request-id,x-forwarded-host,cookie,client-type,Host,content-length,connection,transfer-encoding,cookie"])
        #expect(c.additionalHeadersToProxy == ["x-forwarded-for", "x-forwarded-host", "cookie", "client-type"])
        #expect(c.warnings.count == 4 && c.warnings.allSatisfy { $0.contains("never proxied") })
    }

    @Test func aDrainShorterThanTheLongestRequestIsWorthAWarning() throws {
        let c = try load(["REQUEST_TIMEOUT_MS": "1000", "COMPENSATION_TIMEOUT_MS": "500", "SHUTDOWN_TIMEOUT_MS": "1200"])
        #expect(c.timeouts.requestBound == .milliseconds(1500) && c.timeouts.shutdown == .milliseconds(1200))
        #expect(c.warnings == ["SHUTDOWN_TIMEOUT_MS (1200 ms) is shorter than REQUEST_TIMEOUT_MS + COMPENSATION_TIMEOUT_MS (1500 ms): a slow request may be abandoned at SIGTERM"])
        #expect(try load(["REQUEST_TIMEOUT_MS": "1000", "COMPENSATION_TIMEOUT_MS": "500"]).timeouts.shutdown == .milliseconds(6500))
    }

    @Test func readsAndValidatesTheConfigFile() throws {
        let file = #"""
        {"privileges":{"plus":{"groups":["doctor","admin"],"tools":{"chat":true,"whiteboard":false}},"basic":{"groups":["patient"]}},
         "userIdPathInRequest":[{"from":"object","extract":"headers"},{"from":"object","extract":"x-id"}],
         "environment":"sandbox","mode":"x","theme":{"light":{"primaryColor":"#fff"}},"companyLogo":{"url":"https://l"}}
        """#
        let c = try load(["TELECONSULTATION_SERVICE_CONFIG_PATH": "/cfg.json", "NGINX_PROFILE": "gateway"], file: file)
        #expect(c.privileges.plus.groups == ["doctor", "admin"])
        #expect(c.privileges.plus.tools?.json == ["chat": true, "whiteboard": false])
        #expect(c.privileges.basic.tools == nil)
        #expect(c.userIdPathInRequest.last == .init(from: .object, extract: "x-id"))
    }

    @Test(arguments: [
        (#"{"privileges":{"plus":{"groups":["d"]}}}"#, "TELECONSULTATION_SERVICE_CONFIG_PATH privileges.basic"),
        (#"{"privileges":{"plus":{"groups":[]},"basic":{"groups":["p"]}}}"#, "TELECONSULTATION_SERVICE_CONFIG_PATH privileges.plus.groups"),
        (#"{"privileges":{"plus":{"groups":["d"],"tools":{"laser":true}},"basic":{"groups":["p"]}}}"#, "TELECONSULTATION_SERVICE_CONFIG_PATH privileges.plus.tools.laser"),
        (#"{"privileges":{"plus":{"groups":["d"]},"basic":{"groups":["p"]}},"colour":1}"#, "TELECONSULTATION_SERVICE_CONFIG_PATH colour"),
        (#"{"privileges":{"plus":{"groups":["d"]},"basic":{"groups":["p"]}},"environment":"staging"}"#, "TELECONSULTATION_SERVICE_CONFIG_PATH environment"),
        (#"{"privileges":{"plus":{"groups":["d"]},"basic":{"groups":["p"]}},"userIdPathInRequest":[{"from":"xml","extract":"a"}]}"#, "TELECONSULTATION_SERVICE_CONFIG_PATH userIdPathInRequest.0.from"),
        (#"{"privileges":1,"privileges":2}"#, "TELECONSULTATION_SERVICE_CONFIG_PATH"),
    ])
    func configFileRejectionsNameTheKey(_ file: String, _ key: String) {
        #expect(failure(["TELECONSULTATION_SERVICE_CONFIG_PATH": "/cfg.json"], file: file)?.key == key)
    }
}

import Foundation
import Logging
import StrictJSON
import TeleconsultationDomain

/// Everything the service reads at start, validated once.
public struct Configuration: Sendable {
    /// One step of the path that finds the caller's id in the request.
    public struct UserIdStep: Sendable, Equatable {
        public enum Source: String, Sendable { case object, json, array }
        public var from: Source
        public var extract: String
        public init(from: Source, extract: String) {
            self.from = from
            self.extract = extract
        }
    }

    /// `customUserId` of the config file: the field of the custom id and of the auth0 id.
    public struct CustomUserIdFields: Sendable, Equatable {
        public var source: String
        public var target: String
        public init(source: String, target: String) {
            self.source = source
            self.target = target
        }
    }

    /// Which shipped nginx file is in front (`NGINX_PROFILE`): it decides who can claim an identity.
    public enum NginxProfile: String, Sendable, CaseIterable {
        /// `nginx.conf`: nginx replaces `miauserid` (and the groups) with what auth0-client says.
        case edge
        /// `nginx-behind-gateway.conf`: a trusted gateway sets the identity headers.
        case gateway
    }

    /// The header the edge profile strips from every request and sets from the identity check.
    public static let edgeIdentityHeader = "miauserid"

    /// The dialect of the provider's REST API.
    public enum ProviderAPIVersion: String, Sendable, CaseIterable {
        case v1, v2
    }

    public struct Timeouts: Sendable, Equatable {
        public var crud: Duration
        public var bandyer: Duration
        public var authService: Duration
        /// Deadline of one request's work, upstream calls and retries included.
        public var request: Duration
        /// Extra time after `request` for undo steps (deleting a room just made, fencing a
        /// write), shared by all of them: `request + compensation` bounds a whole request.
        public var compensation: Duration
        /// How long SIGTERM waits for the requests in flight.
        public var shutdown: Duration

        /// The longest a request can take, its undo included.
        public var requestBound: Duration { request + compensation }
    }

    // Upstreams
    public var bandyerAPISecretKey: String
    public var bandyerBaseURL: String
    /// `BANDYER_API_VERSION`; by default v2 when the base URL's path ends in `/v2`.
    public var bandyerAPIVersion: ProviderAPIVersion
    public var crudServiceURL: String
    public var teleconsultationsCRUDName: String
    public var userIdMapCRUDName: String
    /// `ROOM_CLAIMS_CRUD_NAME`: where a room is claimed before it is made (the sweep deletes only claimed rooms).
    public var roomClaimsCRUDName: String
    /// `IDEMPOTENCY_CRUD_NAME`: where the answers of requests with an Idempotency-Key are kept.
    public var idempotencyCRUDName: String
    /// `IDEMPOTENCY_TTL_MS`: how long a kept answer is replayed.
    public var idempotencyTTLMilliseconds: Int
    /// `AUDIT_CRUD_NAME`: the audit trail's collection; nil: no audit trail.
    public var auditCRUDName: String?
    /// `AUDIT_REQUIRED`: no link or token is given out when its audit record cannot be written.
    public var auditRequired: Bool
    /// Base URL of auth0-client; nil = standalone mode.
    public var authServiceURL: String?
    /// The auth0-client the identity route asks (the edge profile); defaults to `authServiceURL`.
    public var identityServiceURL: String?
    public var defaultClientType: String?
    /// The header with the caller's client type, read on requests and sent to auth0-client.
    public var clientTypeHeaderKey: String
    public var additionalHeadersToProxy: [String]
    public var timeouts: Timeouts

    // Behaviour
    public var unlimitedTeleconsultation: Bool
    public var liveTeleconsultation: Bool
    public var immutablePeriodMilliseconds: Int
    public var userIdHeaderKey: String
    public var basePath: String
    public var privileges: Privileges
    public var userIdPathInRequest: [UserIdStep]
    /// `NGINX_PROFILE`: with `edge`, the caller's id must be found where that profile puts it.
    public var nginxProfile: NginxProfile
    /// `groupsWithBackgroundList`: who may open calls over the company background (nil: everyone).
    public var groupsWithBackgroundList: [String]?
    /// `TELECONSULTATION_DELETE_UPLOADS`.
    public var deleteUploads: Bool
    /// `DEFAULT_RECORDING_TYPE`: how new rooms record their calls.
    public var recordingType: RecordingType
    /// `SWEEP_GRACE_MS`: how old a room no teleconsultation points to must be before the sweep deletes it.
    public var sweepGraceMilliseconds: Int
    /// `SWEEP_DEADLINE_MS`: a sweep stops between rooms after this long (below the sweep unit's `TimeoutStartSec`).
    public var sweepDeadlineMilliseconds: Int
    /// `CUSTOM_ID_USERS_API_ENDPOINT` (auth0 mode), with the config file's `customUserId`.
    public var customIdUsersEndpoint: String?
    public var customUserId: CustomUserIdFields?

    // Process
    public var logLevel: LogLevel
    public var socket: String?
    /// Group given to a unix socket this process creates (nginx's workers reach it through it).
    public var socketGroup: String
    public var maxBodyBytes: Int
    /// The largest virtual background (POST /settings/background-image).
    public var maxUploadBytes: Int
    public var maxInFlight: Int
    public var fastCGIIOTimeoutMilliseconds: Int
    /// How long a kept FastCGI connection may wait for its next request (above nginx's keepalive_timeout).
    public var fastCGIIdleTimeoutMilliseconds: Int
    /// At shutdown, how long kept FastCGI connections stay open for the web server to close
    /// them (above the upstream keepalive_timeout and keepalive_time of the nginx profiles).
    public var fastCGIDrainGraceMilliseconds: Int
    /// `FCGI_IO_THREADS`: the threads that make libfcgi's blocking calls; a peer that stalls
    /// mid-request holds one until `FCGI_IO_TIMEOUT_MS`.
    public var fastCGIIOThreads: Int = 16
    /// `FCGI_PEER_SECRET_FILE`'s secret: when set, only requests whose FastCGI params carry
    /// it are served (see `PeerSecret`); nil: every peer that can reach the socket is served.
    public var peerSecret: String? = nil

    /// Not refused, but worth a line at start-up (a header that is never proxied, a drain
    /// shorter than a request can take).
    public var warnings: [String] = []

    // MARK: outbound HTTP (see README, "Outbound HTTP")
    /// `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY` (and lower case), from the process environment.
    public var outboundProxies = OutboundProxies()
    /// `UPSTREAM_CA_FILE`: a PEM bundle trusted for https upstreams besides the system's roots.
    public var upstreamCAFile: String? = nil

    /// Every upstream this configuration calls, by name, with its base URL.
    public var upstreamURLs: [(name: String, url: String)] {
        var list = [("crud", crudServiceURL), ("bandyer", bandyerBaseURL)]
        if let authServiceURL { list.append(("auth0-client", authServiceURL)) }
        if let identityServiceURL, identityServiceURL != authServiceURL { list.append(("identity", identityServiceURL)) }
        if let customIdUsersEndpoint { list.append(("custom-id-endpoint", customIdUsersEndpoint)) }
        return list
    }

    public var isAuth0Mode: Bool { authServiceURL != nil }
}

/// `LOG_LEVEL` values and their numeric levels in the JSON lines.
public enum LogLevel: String, Sendable, CaseIterable {
    case trace, debug, info, warn, error, fatal, silent

    public var swiftLogLevel: Logger.Level? {
        switch self {
        case .trace: return .trace
        case .debug: return .debug
        case .info: return .info
        case .warn: return .warning
        case .error: return .error
        case .fatal: return .critical
        case .silent: return nil
        }
    }
}

/// Why start-up was refused: names the key and the reason, in one line.
public struct ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    public let key: String
    public let reason: String
    public init(key: String, reason: String) {
        self.key = key
        self.reason = reason
    }
    public var description: String { "\(key): \(reason)" }
}

extension Configuration {
    /// Reads the environment (and the config file it names). `readFile` is injected for tests.
    public static func load(
        environment env: [String: String],
        readFile: (String) throws -> [UInt8] = { path in Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
    ) throws(ConfigurationError) -> Configuration {
        // Set but empty is a mistake to name, not a silent default (`AUTH_SERVICE=` is not standalone mode).
        for key in Self.keys.sorted() where env[key]?.isEmpty == true && !Self.keysThatMayBeEmpty.contains(key) {
            throw ConfigurationError(key: key, reason: "is set but empty (unset it to get the default)")
        }
        func string(_ key: String) -> String? {
            guard let v = env[key], !v.isEmpty else { return nil }
            return v
        }
        func required(_ key: String) throws(ConfigurationError) -> String {
            guard let v = string(key) else { throw ConfigurationError(key: key, reason: "is required") }
            return v
        }
        func bool(_ key: String, default value: Bool) throws(ConfigurationError) -> Bool {
            guard let v = string(key) else { return value }
            switch v {
            case "true", "1": return true
            case "false", "0": return false
            default: throw ConfigurationError(key: key, reason: "must be true or false (or 1 or 0), got \"\(v)\"")
            }
        }
        func integer(_ key: String, default value: Int, min: Int, max: Int = Int.max) throws(ConfigurationError) -> Int {
            guard let v = string(key) else { return value }
            guard let n = Int(v), n >= min, n <= max else {
                throw ConfigurationError(key: key, reason: "must be an integer between \(min) and \(max), got \"\(v)\"")
            }
            return n
        }
        func url(_ key: String, _ value: String, keepTrailingSlash: Bool = false) throws(ConfigurationError) -> String {
            guard let u = URL(string: value), let scheme = u.scheme, ["http", "https"].contains(scheme), u.host != nil else {
                throw ConfigurationError(key: key, reason: "must be an http(s) URL, got \"\(value)\"")
            }
            return value.hasSuffix("/") && !keepTrailingSlash ? String(value.dropLast()) : value
        }
        func crudName(_ key: String, default value: String) throws(ConfigurationError) -> String {
            let v = string(key) ?? value
            guard v.utf8.allSatisfy({ isIdentifierByte($0) }) else {
                throw ConfigurationError(key: key, reason: "must contain only letters, digits, '-', '_' and '.', got \"\(v)\"")
            }
            return v
        }

        var warnings: [String] = []
        let key = try required("BANDYER_API_SECRET_KEY")
        let bandyerBase = try url("BANDYER_BASE_URL", try required("BANDYER_BASE_URL"))
        let apiVersion: ProviderAPIVersion
        if let v = string("BANDYER_API_VERSION") {
            guard let parsed = ProviderAPIVersion(rawValue: v) else {
                throw ConfigurationError(key: "BANDYER_API_VERSION", reason: "must be v1 or v2, got \"\(v)\"")
            }
            apiVersion = parsed
        } else {
            apiVersion = (URL(string: bandyerBase)?.path ?? "").hasSuffix("/v2") ? .v2 : .v1
        }
        let crudURL = try url("CRUD_SERVICE_URL", string("CRUD_SERVICE_URL") ?? "http://crud-service")
        var authURL: String?
        if let auth = string("AUTH_SERVICE") {
            authURL = try url("AUTH_SERVICE", auth.contains("://") ? auth : "http://" + auth)
        }
        var identityURL = authURL
        if let identity = string("IDENTITY_SERVICE") {
            identityURL = try url("IDENTITY_SERVICE", identity.contains("://") ? identity : "http://" + identity)
        }
        let upstream = try integer("UPSTREAM_TIMEOUT_MS", default: 10_000, min: 1)
        let timeouts = Timeouts(
            crud: .milliseconds(try integer("CRUD_TIMEOUT_MS", default: upstream, min: 1)),
            bandyer: .milliseconds(try integer("BANDYER_TIMEOUT_MS", default: upstream, min: 1)),
            authService: .milliseconds(try integer("AUTH_SERVICE_TIMEOUT_MS", default: upstream, min: 1)),
            request: .milliseconds(try integer("REQUEST_TIMEOUT_MS", default: 30_000, min: 1)),
            compensation: .milliseconds(try integer("COMPENSATION_TIMEOUT_MS", default: 5_000, min: 1)),
            shutdown: .zero)
        var timeoutsWithDrain = timeouts
        let bound = Int(timeouts.requestBound.components.seconds * 1000 + timeouts.requestBound.components.attoseconds / 1_000_000_000_000_000)
        // By default the drain outlasts the longest request by 5 s, so SIGTERM never cuts one short.
        timeoutsWithDrain.shutdown = .milliseconds(try integer("SHUTDOWN_TIMEOUT_MS", default: bound + 5_000, min: 0))
        if timeoutsWithDrain.shutdown < timeouts.requestBound {
            warnings.append("SHUTDOWN_TIMEOUT_MS (\(env["SHUTDOWN_TIMEOUT_MS"] ?? "") ms) is shorter than REQUEST_TIMEOUT_MS + COMPENSATION_TIMEOUT_MS (\(bound) ms): a slow request may be abandoned at SIGTERM")
        }

        let levelText = string("LOG_LEVEL") ?? "info"
        guard let level = LogLevel(rawValue: levelText) else {
            throw ConfigurationError(key: "LOG_LEVEL", reason: "must be one of \(LogLevel.allCases.map(\.rawValue).joined(separator: "|")), got \"\(levelText)\"")
        }
        var basePath = string("BASE_PATH") ?? "/api/v1/telecons-be"
        while basePath.hasSuffix("/") { basePath.removeLast() }
        guard basePath.isEmpty || basePath.hasPrefix("/"), !basePath.contains("?"), !basePath.contains("//") else {
            throw ConfigurationError(key: "BASE_PATH", reason: "must be a path starting with '/', got \"\(basePath)\"")
        }
        let userIdHeader = (string("USERID_HEADER_KEY") ?? "miauserid").lowercased()
        guard userIdHeader.utf8.allSatisfy({ isIdentifierByte($0) }) else {
            throw ConfigurationError(key: "USERID_HEADER_KEY", reason: "must be a header name, got \"\(userIdHeader)\"")
        }
        var proxied: [String] = []
        for raw in (string("ADDITIONAL_HEADERS_TO_PROXY") ?? "").split(separator: ",") {
            let h = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if h.isEmpty || proxied.contains(h) { continue }
            guard h.utf8.allSatisfy({ isIdentifierByte($0) }) else {
                throw ConfigurationError(key: "ADDITIONAL_HEADERS_TO_PROXY", reason: "\"\(h)\" is not a header name")
            }
            // x-request-id always goes out once, as the request's own id.
            if h == "x-request-id" { continue }
            if Self.neverProxied.contains(h) {
                warnings.append("ADDITIONAL_HEADERS_TO_PROXY: \(h) is a hop-by-hop or framing header and is never proxied")
                continue
            }
            proxied.append(h)
        }
        let clientTypeHeader = (string("CLIENTTYPE_HEADER_KEY") ?? "client-type").lowercased()
        guard clientTypeHeader.utf8.allSatisfy({ isIdentifierByte($0) }) else {
            throw ConfigurationError(key: "CLIENTTYPE_HEADER_KEY", reason: "must be a header name, got \"\(clientTypeHeader)\"")
        }

        var file = ServiceConfigFile.builtIn
        if let path = string("TELECONSULTATION_SERVICE_CONFIG_PATH") {
            let bytes: [UInt8]
            do { bytes = try readFile(path) } catch {
                throw ConfigurationError(key: "TELECONSULTATION_SERVICE_CONFIG_PATH", reason: "cannot read \(path)")
            }
            file = try ServiceConfigFile.parse(bytes, userIdHeaderKey: userIdHeader)
        }
        let steps = file.userIdPathInRequest ?? [UserIdStep(from: .object, extract: "headers"), UserIdStep(from: .object, extract: userIdHeader)]
        let profileText = string("NGINX_PROFILE") ?? NginxProfile.edge.rawValue
        guard let profile = NginxProfile(rawValue: profileText) else {
            throw ConfigurationError(key: "NGINX_PROFILE", reason: "must be edge or gateway, got \"\(profileText)\"")
        }
        if profile == .edge { try Self.requireEdgeIdentity(userIdHeader: userIdHeader, steps: steps) }

        let recordingText = string("DEFAULT_RECORDING_TYPE") ?? "none"
        guard let recording = RecordingType(rawValue: recordingText) else {
            throw ConfigurationError(key: "DEFAULT_RECORDING_TYPE", reason: "must be one of none|automatic|manual, got \"\(recordingText)\"")
        }
        var customEndpoint: String?
        if let e = string("CUSTOM_ID_USERS_API_ENDPOINT") {
            guard authURL != nil else {
                throw ConfigurationError(key: "CUSTOM_ID_USERS_API_ENDPOINT", reason: "needs auth0 mode (AUTH_SERVICE): custom ids are translated into auth0 ids")
            }
            guard file.customUserId != nil else {
                throw ConfigurationError(key: "TELECONSULTATION_SERVICE_CONFIG_PATH customUserId", reason: "is required with CUSTOM_ID_USERS_API_ENDPOINT ({\"source\", \"target\"})")
            }
            customEndpoint = try url("CUSTOM_ID_USERS_API_ENDPOINT", e.contains("://") ? e : "http://" + e, keepTrailingSlash: true)
        } else if file.customUserId != nil {
            throw ConfigurationError(key: "CUSTOM_ID_USERS_API_ENDPOINT", reason: "is required when the config file sets customUserId")
        }

        let socket = string("FCGI_SOCKET")
        let auditName = string("AUDIT_CRUD_NAME") == nil ? nil : try crudName("AUDIT_CRUD_NAME", default: "")
        let auditRequired = try bool("AUDIT_REQUIRED", default: false)
        if auditRequired && auditName == nil {
            throw ConfigurationError(key: "AUDIT_REQUIRED", reason: "is true, but AUDIT_CRUD_NAME names no audit collection")
        }
        var peerSecret: String?
        if let path = string("FCGI_PEER_SECRET_FILE") {
            let bytes: [UInt8]
            do { bytes = try readFile(path) } catch {
                throw ConfigurationError(key: "FCGI_PEER_SECRET_FILE", reason: "cannot read \(path)")
            }
            // The reason never quotes the file: it holds a secret.
            guard let secret = PeerSecret.parse(fileContents: bytes) else {
                throw ConfigurationError(key: "FCGI_PEER_SECRET_FILE",
                                         reason: "\(path) must hold one line of 32 to 1024 letters, digits or +/=._~- characters")
            }
            peerSecret = secret
        }
        var configuration = Configuration(
            bandyerAPISecretKey: key, bandyerBaseURL: bandyerBase, bandyerAPIVersion: apiVersion, crudServiceURL: crudURL,
            teleconsultationsCRUDName: try crudName("TELECONSULTATIONS_CRUD_NAME", default: "teleconsultations"),
            userIdMapCRUDName: try crudName("USER_ID_MAP_CRUD_NAME", default: "teleconsultation-users"),
            roomClaimsCRUDName: try crudName("ROOM_CLAIMS_CRUD_NAME", default: "teleconsultation-room-claims"),
            idempotencyCRUDName: try crudName("IDEMPOTENCY_CRUD_NAME", default: "teleconsultation-idempotency"),
            idempotencyTTLMilliseconds: try integer("IDEMPOTENCY_TTL_MS", default: 86_400_000, min: 1_000, max: 30 * 86_400_000),
            auditCRUDName: auditName, auditRequired: auditRequired,
            authServiceURL: authURL, identityServiceURL: identityURL, defaultClientType: string("DEFAULT_CLIENT_TYPE"), clientTypeHeaderKey: clientTypeHeader,
            additionalHeadersToProxy: proxied, timeouts: timeoutsWithDrain,
            unlimitedTeleconsultation: try bool("UNLIMITED_TELECONSULTATION", default: true),
            liveTeleconsultation: try bool("LIVE_TELECONSULTATION", default: true),
            immutablePeriodMilliseconds: try integer("IMMUTABLE_PERIOD_MS", default: 0, min: 0),
            userIdHeaderKey: userIdHeader, basePath: basePath, privileges: file.privileges,
            userIdPathInRequest: steps, nginxProfile: profile, groupsWithBackgroundList: file.groupsWithBackgroundList,
            deleteUploads: try bool("TELECONSULTATION_DELETE_UPLOADS", default: false), recordingType: recording,
            sweepGraceMilliseconds: try integer("SWEEP_GRACE_MS", default: 3_600_000, min: 0),
            sweepDeadlineMilliseconds: try integer("SWEEP_DEADLINE_MS", default: 1_500_000, min: 1_000),
            customIdUsersEndpoint: customEndpoint, customUserId: file.customUserId, logLevel: level, socket: socket, socketGroup: string("FCGI_SOCKET_GROUP") ?? "www-data",
            maxBodyBytes: try integer("MAX_BODY_BYTES", default: 1 << 20, min: 1, max: 64 << 20),
            maxUploadBytes: try integer("MAX_UPLOAD_BYTES", default: 10 << 20, min: 1, max: 64 << 20),
            maxInFlight: try integer("MAX_IN_FLIGHT", default: 1024, min: 1, max: 100_000),
            fastCGIIOTimeoutMilliseconds: try integer("FCGI_IO_TIMEOUT_MS", default: 5_000, min: 1),
            fastCGIIdleTimeoutMilliseconds: try integer("FCGI_IDLE_TIMEOUT_MS", default: 75_000, min: 1),
            fastCGIDrainGraceMilliseconds: try integer("FCGI_DRAIN_GRACE_MS", default: 1_500, min: 0, max: 60_000),
            fastCGIIOThreads: try integer("FCGI_IO_THREADS", default: 16, min: 1, max: 256))
        configuration.peerSecret = peerSecret
        // Outbound HTTP: proxies, and a CA bundle that must be readable and hold a certificate.
        configuration.outboundProxies = try OutboundProxies.load(environment: env, warnings: &warnings)
        if let path = string("UPSTREAM_CA_FILE") {
            let bytes: [UInt8]
            do { bytes = try readFile(path) } catch {
                throw ConfigurationError(key: "UPSTREAM_CA_FILE", reason: "cannot read \(path)")
            }
            guard String(decoding: bytes, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
                throw ConfigurationError(key: "UPSTREAM_CA_FILE", reason: "\(path) holds no PEM certificate")
            }
            configuration.upstreamCAFile = path
        }
        configuration.warnings = warnings
        return configuration
    }

    /// Every variable this loader reads.
    public static let keys: Set<String> = [
        "BANDYER_API_SECRET_KEY", "BANDYER_BASE_URL", "CRUD_SERVICE_URL", "TELECONSULTATIONS_CRUD_NAME", "USER_ID_MAP_CRUD_NAME",
        "AUTH_SERVICE", "IDENTITY_SERVICE", "DEFAULT_CLIENT_TYPE", "CLIENTTYPE_HEADER_KEY", "ADDITIONAL_HEADERS_TO_PROXY", "UPSTREAM_TIMEOUT_MS",
        "CRUD_TIMEOUT_MS", "BANDYER_TIMEOUT_MS", "AUTH_SERVICE_TIMEOUT_MS", "REQUEST_TIMEOUT_MS", "COMPENSATION_TIMEOUT_MS",
        "SHUTDOWN_TIMEOUT_MS", "LOG_LEVEL", "BASE_PATH", "USERID_HEADER_KEY", "TELECONSULTATION_SERVICE_CONFIG_PATH",
        "UNLIMITED_TELECONSULTATION", "LIVE_TELECONSULTATION", "IMMUTABLE_PERIOD_MS", "FCGI_SOCKET", "FCGI_SOCKET_GROUP",
        "MAX_BODY_BYTES", "MAX_IN_FLIGHT", "FCGI_IO_TIMEOUT_MS", "FCGI_IDLE_TIMEOUT_MS", "FCGI_DRAIN_GRACE_MS", "FCGI_IO_THREADS", "MAX_UPLOAD_BYTES",
        "TELECONSULTATION_DELETE_UPLOADS", "DEFAULT_RECORDING_TYPE", "CUSTOM_ID_USERS_API_ENDPOINT", "BANDYER_API_VERSION",
        "SWEEP_GRACE_MS", "SWEEP_DEADLINE_MS", "ROOM_CLAIMS_CRUD_NAME", "IDEMPOTENCY_CRUD_NAME", "IDEMPOTENCY_TTL_MS",
        "AUDIT_CRUD_NAME", "AUDIT_REQUIRED", "NGINX_PROFILE", "FCGI_PEER_SECRET_FILE",
        "UPSTREAM_CA_FILE",
    ]
    /// The edge profile strips `miauserid` from every request and sets it from the identity
    /// check; any other header, the query or the route's parameters are the caller's own
    /// word. So behind it the caller's id is read from that header, and that header is the
    /// one sent to the CRUD, or start-up is refused.
    static func requireEdgeIdentity(userIdHeader: String, steps: [UserIdStep]) throws(ConfigurationError) {
        let edge = Self.edgeIdentityHeader
        if userIdHeader != edge {
            throw ConfigurationError(key: "USERID_HEADER_KEY", reason: "is \"\(userIdHeader)\", but NGINX_PROFILE is edge, whose nginx file sets only \(edge): a caller could claim any identity in \(userIdHeader) (keep \(edge), or set NGINX_PROFILE=gateway behind a trusted gateway)")
        }
        // The first two steps pick the value (CallerIdentification); later ones walk into it,
        // and nginx wrote all of it.
        guard steps.count >= 2, steps[0] == UserIdStep(from: .object, extract: "headers"), steps[1] == UserIdStep(from: .object, extract: edge) else {
            let shown = steps.prefix(2).map { $0.from == .object ? $0.extract : "(\($0.from.rawValue) \($0.extract))" }.joined(separator: ".")
            throw ConfigurationError(key: "\(ServiceConfigFile.envKey) userIdPathInRequest", reason: "reads the caller's id from \(shown), but NGINX_PROFILE is edge, whose nginx file sets only headers.\(edge): a caller could claim any identity there (read headers.\(edge), or set NGINX_PROFILE=gateway behind a trusted gateway)")
        }
    }

    /// An empty list is a meaningful value.
    static let keysThatMayBeEmpty: Set<String> = ["ADDITIONAL_HEADERS_TO_PROXY"]
    /// Hop-by-hop and framing headers: they describe one connection, never the request.
    static let neverProxied: Set<String> = ["host", "content-length", "connection", "transfer-encoding", "keep-alive", "te",
                                            "trailer", "upgrade", "proxy-connection", "proxy-authorization", "expect"]
}

func isIdentifierByte(_ c: UInt8) -> Bool {
    switch c {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
         UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
        return true
    default: return false
    }
}

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

    public struct Timeouts: Sendable, Equatable {
        public var crud: Duration
        public var bandyer: Duration
        public var authService: Duration
        /// Overall deadline of one request, upstream calls and retries included.
        public var request: Duration
        public var shutdown: Duration
    }

    // Upstreams
    public var bandyerAPISecretKey: String
    public var bandyerBaseURL: String
    public var crudServiceURL: String
    public var teleconsultationsCRUDName: String
    public var userIdMapCRUDName: String
    /// Base URL of auth0-client; nil = standalone mode.
    public var authServiceURL: String?
    public var defaultClientType: String?
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

    // Process
    public var logLevel: LogLevel
    public var socket: String?
    /// Group given to a unix socket this process creates (nginx's workers reach it through it).
    public var socketGroup: String
    public var maxBodyBytes: Int
    public var maxInFlight: Int
    public var fastCGIIOTimeoutMilliseconds: Int
    public var fastCGIReaderThreads: Int

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
        func url(_ key: String, _ value: String) throws(ConfigurationError) -> String {
            guard let u = URL(string: value), let scheme = u.scheme, ["http", "https"].contains(scheme), u.host != nil else {
                throw ConfigurationError(key: key, reason: "must be an http(s) URL, got \"\(value)\"")
            }
            return value.hasSuffix("/") ? String(value.dropLast()) : value
        }
        func crudName(_ key: String, default value: String) throws(ConfigurationError) -> String {
            let v = string(key) ?? value
            guard v.utf8.allSatisfy({ isIdentifierByte($0) }) else {
                throw ConfigurationError(key: key, reason: "must contain only letters, digits, '-', '_' and '.', got \"\(v)\"")
            }
            return v
        }

        let key = try required("BANDYER_API_SECRET_KEY")
        let bandyerBase = try url("BANDYER_BASE_URL", try required("BANDYER_BASE_URL"))
        let crudURL = try url("CRUD_SERVICE_URL", string("CRUD_SERVICE_URL") ?? "http://crud-service")
        var authURL: String?
        if let auth = string("AUTH_SERVICE") {
            authURL = try url("AUTH_SERVICE", auth.contains("://") ? auth : "http://" + auth)
        }
        let upstream = try integer("UPSTREAM_TIMEOUT_MS", default: 10_000, min: 1)
        let timeouts = Timeouts(
            crud: .milliseconds(try integer("CRUD_TIMEOUT_MS", default: upstream, min: 1)),
            bandyer: .milliseconds(try integer("BANDYER_TIMEOUT_MS", default: upstream, min: 1)),
            authService: .milliseconds(try integer("AUTH_SERVICE_TIMEOUT_MS", default: upstream, min: 1)),
            request: .milliseconds(try integer("REQUEST_TIMEOUT_MS", default: 30_000, min: 1)),
            shutdown: .milliseconds(try integer("SHUTDOWN_TIMEOUT_MS", default: 30_000, min: 0)))

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
        let proxied = (string("ADDITIONAL_HEADERS_TO_PROXY") ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        for h in proxied where !h.utf8.allSatisfy({ isIdentifierByte($0) }) {
            throw ConfigurationError(key: "ADDITIONAL_HEADERS_TO_PROXY", reason: "\"\(h)\" is not a header name")
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

        let socket = string("FCGI_SOCKET")
        return Configuration(
            bandyerAPISecretKey: key, bandyerBaseURL: bandyerBase, crudServiceURL: crudURL,
            teleconsultationsCRUDName: try crudName("TELECONSULTATIONS_CRUD_NAME", default: "teleconsultations"),
            userIdMapCRUDName: try crudName("USER_ID_MAP_CRUD_NAME", default: "teleconsultation-users"),
            authServiceURL: authURL, defaultClientType: string("DEFAULT_CLIENT_TYPE"),
            additionalHeadersToProxy: proxied, timeouts: timeouts,
            unlimitedTeleconsultation: try bool("UNLIMITED_TELECONSULTATION", default: true),
            liveTeleconsultation: try bool("LIVE_TELECONSULTATION", default: true),
            immutablePeriodMilliseconds: try integer("IMMUTABLE_PERIOD_MS", default: 0, min: 0),
            userIdHeaderKey: userIdHeader, basePath: basePath, privileges: file.privileges,
            userIdPathInRequest: steps, logLevel: level, socket: socket, socketGroup: string("FCGI_SOCKET_GROUP") ?? "www-data",
            maxBodyBytes: try integer("MAX_BODY_BYTES", default: 1 << 20, min: 1, max: 64 << 20),
            maxInFlight: try integer("MAX_IN_FLIGHT", default: 1024, min: 1, max: 100_000),
            fastCGIIOTimeoutMilliseconds: try integer("FCGI_IO_TIMEOUT_MS", default: 5_000, min: 1),
            fastCGIReaderThreads: try integer("FCGI_READER_THREADS", default: 8, min: 1, max: 256))
    }
}

func isIdentifierByte(_ c: UInt8) -> Bool {
    switch c {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
         UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
        return true
    default: return false
    }
}

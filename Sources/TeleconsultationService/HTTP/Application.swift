import Foundation
import HTTPTypes
import Logging
import Responder
import StrictJSON
import Synchronization

/// Name and version reported by the health routes, fixed at build time.
public enum BuildInfo {
    public static let name = "teleconsultation-backend"
    public static let version = "1.0.0"
}

/// Everything a handler needs about one request.
public struct RequestContext: Sendable {
    public let request: Request
    public let parameters: [String: String]
    /// The route template, unprefixed (`/teleconsultation/:roomId`).
    public let route: String
    public let requestId: String
    public let logger: Logger
    /// When the request's work (upstream calls and retries) must be done.
    public let deadline: ContinuousClock.Instant
    /// When its undo steps too must be done: the request's overall bound.
    public let compensationDeadline: ContinuousClock.Instant

    public func header(_ name: String) -> String? {
        guard let n = HTTPField.Name(name) else { return nil }
        return request.head.headerFields[n]
    }
}

public typealias Handler = @Sendable (RequestContext) async throws -> Response

/// Whether the process still takes work: false once SIGTERM arrived.
public final class Readiness: Sendable {
    private let draining = Atomic<Bool>(false)
    public init() {}
    public var isDraining: Bool { draining.load(ordering: .relaxed) }
    public func startDraining() { draining.store(true, ordering: .relaxed) }
}

/// The application: routing, request ids, the one place errors become HTTP, logs and metrics.
public struct Application: Responder, Sendable {
    let router: Router<Handler>
    let basePath: String
    let requestTimeout: Duration
    let compensationTimeout: Duration
    let logger: Logger
    let metrics: ServiceMetrics
    /// When set, only requests that bring it are routed (see `PeerSecret`).
    let peerSecret: PeerSecret?

    public init(routes: Router<Handler>, basePath: String, requestTimeout: Duration, compensationTimeout: Duration = .seconds(5),
                logger: Logger, metrics: ServiceMetrics, peerSecret: PeerSecret? = nil) {
        self.router = routes
        self.basePath = basePath
        self.requestTimeout = requestTimeout
        self.compensationTimeout = compensationTimeout
        self.logger = logger
        self.metrics = metrics
        self.peerSecret = peerSecret
    }

    public func respond(to request: Request) async -> Response {
        let start = ContinuousClock.now
        metrics.requestStarted()
        let requestId = Self.requestId(from: request)
        var logger = self.logger
        logger[metadataKey: "reqId"] = .string(requestId)

        // Not from the configured web server: refused before anything else, health routes included.
        if let peerSecret {
            let verdict = peerSecret.check(request)
            if verdict != .admitted {
                logger.warning("request refused: the FastCGI peer did not bring the web server's secret",
                               metadata: ["peerSecret": .string(verdict.rawValue)])
                var response = ErrorMapper.response(for: PeerSecret.Refused(verdict: verdict), logger: logger)
                response.head.headerFields[Self.requestIdField] = requestId
                finish(request: request, route: "refused", response: response, start: start, logger: logger)
                return response
            }
        }

        var path = request.path
        if !basePath.isEmpty, path.hasPrefix(basePath) {
            let rest = path.dropFirst(basePath.count)
            if rest.isEmpty || rest.hasPrefix("/") { path = rest.isEmpty ? "/" : rest }
        }
        var route = "unmatched"
        var response: Response
        switch router.match(method: request.method, path: path) {
        case .found(let r, let parameters):
            route = r.template
            let context = RequestContext(request: request, parameters: parameters, route: r.template, requestId: requestId,
                                         logger: logger, deadline: start + requestTimeout,
                                         compensationDeadline: start + requestTimeout + compensationTimeout)
            do {
                response = try await r.handler(context)
            } catch {
                response = ErrorMapper.response(for: error, logger: logger)
            }
            if request.method == .head { response.body = [] }
        case .methodNotAllowed(let allowed):
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            response = APIError(status: .methodNotAllowed, error: "Method Not Allowed",
                                message: "Method \(request.method.rawValue) is not allowed on \(path); allowed: \(allow)",
                                headers: [(.allow, allow)]).response
        case .notFound:
            response = APIError(status: .notFound, error: "Not Found",
                                message: "Route \(request.method.rawValue):\(path) not found").response
        }
        response.head.headerFields[Self.requestIdField] = requestId
        finish(request: request, route: route, response: response, start: start, logger: logger)
        return response
    }

    /// The largest body `head`'s route takes: `uploadLimit` for the background upload,
    /// `bodyLimit` for every other request (the transport asks before reading the body).
    public func bodyLimit(for head: HTTPRequest, bodyLimit: Int, uploadLimit: Int) -> Int {
        guard head.method == .post else { return bodyLimit }
        let path = Request(head: head).path
        let route = AccountRoutes.backgroundImageRoute
        return path == route || path == basePath + route ? uploadLimit : bodyLimit
    }

    /// A request the transport refused before it reached a route (too large, malformed):
    /// answered, logged and counted like any other.
    public func respond(rejectedHead head: HTTPRequest?, error: APIError) -> Response {
        let start = ContinuousClock.now
        metrics.requestStarted()
        let request = Request(head: head ?? HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/"))
        let requestId = Self.requestId(from: request)
        var logger = self.logger
        logger[metadataKey: "reqId"] = .string(requestId)
        var response = error.response
        response.head.headerFields[Self.requestIdField] = requestId
        finish(request: request, route: "rejected", response: response, start: start, logger: logger)
        return response
    }

    private func finish(request: Request, route: String, response: Response, start: ContinuousClock.Instant, logger: Logger) {
        let elapsed = ContinuousClock.now - start
        let code = response.status.code
        metrics.requestFinished(method: ServiceMetrics.methodLabel(request.method), route: route, status: code, duration: elapsed)
        let isHealth = route.hasPrefix("/-/")
        guard !isHealth || code >= 400 else { return }
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        logger.log(level: code >= 500 ? .error : .info, "request completed", metadata: [
            "method": .string(request.method.rawValue),
            "path": .string(String(request.path)),
            "route": .string(route),
            "statusCode": .stringConvertible(code),
            "responseTime": .stringConvertible((ms * 1000).rounded() / 1000),
        ])
    }

    /// The incoming `x-request-id` when it is sane, else a new one.
    static func requestId(from request: Request) -> String {
        if let id = request.head.headerFields[requestIdField], !id.isEmpty, id.utf8.count <= 128,
           id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            return id
        }
        return generatedIds.next()
    }

    static let generatedIds = RequestIds()
    static let requestIdField = HTTPField.Name("x-request-id")!
}

/// Request ids without a system call each: a random per-process prefix and a counter.
final class RequestIds: Sendable {
    private let prefix: String
    private let counter = Atomic<UInt64>(0)

    init() {
        var g = SystemRandomNumberGenerator()
        prefix = String(g.next() >> 16, radix: 16, uppercase: false)
    }

    func next() -> String {
        let n = counter.add(1, ordering: .relaxed).newValue
        return prefix + "-" + String(n, radix: 16, uppercase: false)
    }
}

extension Response {
    /// A JSON response.
    public static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headerFields: fields, body: value.jsonBytes)
    }

    public static func empty(_ status: HTTPResponse.Status) -> Response {
        Response(status: status)
    }
}

import CoreMetrics
import Logging
import NIOCore
import StrictJSON
import Synchronization
import TeleconsultationPorts

/// One outbound request, as an adapter describes it.
public struct UpstreamRequest: Sendable {
    public enum Body: Sendable {
        case json(JSONValue)
        /// Raw bytes with their content type (a multipart upload).
        case bytes(ByteBuffer, contentType: String)
    }

    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: Body?

    public init(method: String, url: String, headers: [(String, String)] = [], body: Body? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// What an upstream answered.
public struct UpstreamAnswer: Sendable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }

    public init(status: Int, json: JSONValue) {
        self.init(status: status, body: json.jsonBytes)
    }
}

/// Why a transport could not bring an answer back.
public enum TransportError: Error, Sendable, Equatable {
    case timeout
    case unreachable(String)
    case bodyTooLarge
}

/// Sends requests and brings answers back: `AsyncHTTPClientTransport` in production, recorded answers in tests.
public protocol HTTPTransport: Sendable {
    func send(_ request: UpstreamRequest, timeout: Duration) async throws(TransportError) -> UpstreamAnswer
}

/// The plumbing every adapter shares: per-call timeouts bounded by the request's deadline,
/// `x-request-id` on every call, transport failures as `UpstreamError` (timeout → 504,
/// the rest → 502), a latency metric per upstream and operation, and one warn line for an
/// answer an adapter did not expect.
public struct UpstreamHTTP: Sendable {
    let transport: any HTTPTransport
    let timers = TimerCache()

    public init(transport: any HTTPTransport) {
        self.transport = transport
    }

    public func call(_ upstream: String, _ operation: String, _ request: UpstreamRequest, timeout: Duration,
                     context: UpstreamContext) async throws(UpstreamError) -> UpstreamAnswer {
        let start = ContinuousClock.now
        let remaining = min(timeout, start.duration(to: context.deadline))
        guard remaining > .zero else {
            timers.record(upstream, operation, "timeout", .zero)
            throw UpstreamError(upstream: upstream, operation: operation, kind: .timeout)
        }
        var request = request
        var headers: [(String, String)] = []
        headers.reserveCapacity(request.headers.count + 2)
        headers.append(("accept", "application/json"))
        headers.append(("x-request-id", context.requestId))
        headers.append(contentsOf: request.headers)
        request.headers = headers
        do {
            let answer = try await transport.send(request, timeout: remaining)
            timers.record(upstream, operation, answer.status < 400 ? "ok" : "status_\(answer.status)", start.duration(to: .now))
            return answer
        } catch {
            let kind: UpstreamError.Kind
            switch error {
            case .timeout: kind = .timeout
            case .unreachable(let why): kind = start.duration(to: .now) >= remaining ? .timeout : .unreachable(why)
            case .bodyTooLarge: kind = .invalidResponse("answer too large")
            }
            timers.record(upstream, operation, kind == .timeout ? "timeout" : "error", start.duration(to: .now))
            throw UpstreamError(upstream: upstream, operation: operation, kind: kind)
        }
    }

    /// An answer outside the contract: logged at warn with its status, the upstream, the
    /// operation, the body's length and the request id; never the body (an upstream's error
    /// body can quote what it was sent: names, ids, links, cookies). Returns the error to throw.
    public func unexpected(_ answer: UpstreamAnswer, _ upstream: String, _ operation: String, context: UpstreamContext) -> UpstreamError {
        context.logger.warning("upstream answered outside the contract", metadata: [
            "upstream": .string(upstream), "operation": .string(operation), "status": .stringConvertible(answer.status),
            "bodyLength": .stringConvertible(answer.body.count), "reqId": .string(context.requestId),
        ])
        return UpstreamError(upstream: upstream, operation: operation, kind: .status(answer.status))
    }
}

extension UpstreamAnswer {
    /// The body as JSON, or a 502 naming what was wrong.
    func json(_ upstream: String, _ operation: String) throws(UpstreamError) -> JSONValue {
        do { return try JSONParser.parse(body) } catch {
            throw UpstreamError(upstream: upstream, operation: operation, kind: .invalidResponse("body is not JSON"))
        }
    }
}

/// `upstream_request_duration_seconds{upstream,operation,outcome}` through swift-metrics,
/// one handle per label set.
final class TimerCache: Sendable {
    /// The label values themselves (no string built per call).
    private struct Key: Hashable {
        let upstream: String, operation: String, outcome: String
    }
    private let timers = Mutex<[Key: CoreMetrics.Timer]>([:])

    func record(_ upstream: String, _ operation: String, _ outcome: String, _ duration: Duration) {
        let key = Key(upstream: upstream, operation: operation, outcome: outcome)
        let timer = timers.withLock { cache in
            if let t = cache[key] { return t }
            let t = CoreMetrics.Timer(label: "upstream_request_duration_seconds",
                                      dimensions: [("upstream", upstream), ("operation", operation), ("outcome", outcome)])
            cache[key] = t
            return t
        }
        timer.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}

/// Percent-encodes a query parameter value (everything but RFC 3986 unreserved characters).
func queryEncode(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    let hex = Array("0123456789ABCDEF")
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.append(Character(Unicode.Scalar(b)))
        default:
            out.append("%"); out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 0xF)])
        }
    }
    return out
}

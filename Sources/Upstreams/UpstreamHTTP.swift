import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import StrictJSON
import TeleconsultationService

/// One shared HTTP client for the three upstreams: per-call timeouts bounded by the
/// request's deadline, errors mapped to `UpstreamError` (timeout → 504, the rest → 502),
/// and a latency histogram per upstream.
public final class UpstreamHTTP: Sendable {
    public let client: HTTPClient
    let metrics: ServiceMetrics?
    static let maxResponseBytes = 4 << 20

    public init(metrics: ServiceMetrics?, maxConnectionsPerHost: Int = 256) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnectionsPerHost)
        // A refused connection is an answer (502 at once), not a reason to retry until the deadline (504).
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.timeout = .init(connect: .seconds(5))
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.metrics = metrics
    }

    public func shutdown() async { try? await client.shutdown() }

    public struct Answer: Sendable {
        public var status: Int
        public var body: [UInt8]

        /// The body as JSON, or a 502 naming what was wrong.
        func json(_ upstream: String, _ operation: String) throws -> JSONValue {
            do { return try JSONParser.parse(body) } catch {
                throw UpstreamError(upstream: upstream, operation: operation, kind: .invalidResponse("body is not JSON"))
            }
        }
    }

    func call(upstream: String, operation: String, method: HTTPMethod, url: String, headers: [(String, String)],
              body: JSONValue?, timeout: Duration, context: UpstreamContext) async throws -> Answer {
        let start = ContinuousClock.now
        let remaining = min(timeout, context.deadline - start)
        guard remaining > .zero else {
            metrics?.upstreamCall(upstream: upstream, operation: operation, outcome: "timeout", duration: .zero)
            throw UpstreamError(upstream: upstream, operation: operation, kind: .timeout)
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "accept", value: "application/json")
        request.headers.add(name: "x-request-id", value: context.requestId)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.jsonBytes))
        }
        let nanos = remaining.components.seconds * 1_000_000_000 + remaining.components.attoseconds / 1_000_000_000
        var outcome = "error"
        defer { metrics?.upstreamCall(upstream: upstream, operation: operation, outcome: outcome, duration: ContinuousClock.now - start) }
        do {
            let deadline = NIODeadline.now() + .nanoseconds(nanos)
            let response = try await client.execute(request, deadline: deadline)
            var buffer = try await response.body.collect(upTo: Self.maxResponseBytes)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            outcome = response.status.code < 400 ? "ok" : "status_\(response.status.code)"
            return Answer(status: Int(response.status.code), body: bytes)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            outcome = "timeout"
            throw UpstreamError(upstream: upstream, operation: operation, kind: .timeout)
        } catch is CancellationError {
            outcome = "timeout"
            throw UpstreamError(upstream: upstream, operation: operation, kind: .timeout)
        } catch let error as NIOTooManyBytesError {
            throw UpstreamError(upstream: upstream, operation: operation, kind: .invalidResponse("\(error)"))
        } catch {
            if ContinuousClock.now >= start + remaining {
                outcome = "timeout"
                throw UpstreamError(upstream: upstream, operation: operation, kind: .timeout)
            }
            throw UpstreamError(upstream: upstream, operation: operation, kind: .unreachable(String(describing: error)))
        }
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

import HTTPTypes
import Prometheus
import Synchronization

/// The Prometheus registry and the service's metrics: requests by route and status,
/// latency per route and per upstream, requests in flight.
public final class ServiceMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let inFlightGauge: Gauge
    /// Handles by method, route and status: a registry look-up builds label arrays and hashes
    /// them under its lock; this is one dictionary hit per request, and no string is built.
    private struct RequestKey: Hashable {
        let method: String, route: String, status: Int
    }
    private let requestHandles = Mutex<[RequestKey: (Counter, DurationHistogram)]>([:])
    public static let buckets: [Duration] = [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                      .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                      .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10)]

    // Full names as Prometheus shows them (the unit is part of the metric name).
    static var inFlight: MetricNameDescriptor { .init(metricName: "http_requests_in_flight", unitName: "", helpText: "Requests being handled") }
    static var requests: MetricNameDescriptor { .init(metricName: "http_requests_total", unitName: "", helpText: "Requests answered, by route and status") }
    static var requestDuration: MetricNameDescriptor {
        .init(metricName: "http_request_duration", unitName: "seconds", helpText: "Time to answer a request, by route")
    }
    static var upstreamDuration: MetricNameDescriptor {
        .init(metricName: "upstream_request_duration", unitName: "seconds", helpText: "Time of upstream calls")
    }

    static var auditFailures: MetricNameDescriptor {
        .init(metricName: "audit_write_failures_total", unitName: "", helpText: "Audit records that could not be written")
    }
    private let auditFailuresCounter: Counter

    public init() {
        inFlightGauge = registry.makeGauge(descriptor: Self.inFlight)
        auditFailuresCounter = registry.makeCounter(descriptor: Self.auditFailures)
    }

    /// An audit record could not be written.
    public func auditWriteFailed() { auditFailuresCounter.increment() }

    func requestStarted() { inFlightGauge.increment() }

    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// A label value from a bounded set: any method a client invents is `other`.
    static func methodLabel(_ method: HTTPRequest.Method) -> String {
        knownMethods.contains(method.rawValue) ? method.rawValue : "other"
    }

    func requestFinished(method: String, route: String, status: Int, duration: Duration) {
        inFlightGauge.decrement()
        let key = RequestKey(method: method, route: route, status: status)
        let handles = requestHandles.withLock { cache in
            if let h = cache[key] { return h }
            let h = (registry.makeCounter(descriptor: Self.requests, labels: [("method", method), ("route", route), ("status_code", String(status))]),
                     registry.makeDurationHistogram(descriptor: Self.requestDuration, labels: [("route", route)], buckets: Self.buckets))
            cache[key] = h
            return h
        }
        handles.0.increment()
        handles.1.record(duration)
    }

    /// One upstream call: `upstream` is crud, bandyer or auth0; `outcome` ok, error or timeout.
    public func upstreamCall(upstream: String, operation: String, outcome: String, duration: Duration) {
        registry.makeDurationHistogram(descriptor: Self.upstreamDuration,
                                       labels: [("upstream", upstream), ("operation", operation), ("outcome", outcome)],
                                       buckets: Self.buckets).record(duration)
    }

    public func render() -> [UInt8] { registry.emitToBuffer() }
}

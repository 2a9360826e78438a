import TeleconsultationPorts
import Testing
@testable import Upstreams

@Suite struct UpstreamHTTPTests {
    let request = UpstreamRequest(method: "GET", url: "http://x/y")

    @Test func aPassedDeadlineIsA504WithoutACall() async {
        let t = RecordedTransport(json: [(200, [:])])
        await #expect(throws: UpstreamError(upstream: "crud", operation: "read", kind: .timeout)) {
            _ = try await UpstreamHTTP(transport: t).call("crud", "read", request, timeout: .seconds(1), context: context(deadline: .now - .seconds(1)))
        }
        #expect(t.sent.isEmpty)
    }

    @Test func eachCallWaitsAtMostItsTimeoutWithinTheDeadlineAndCarriesTheRequestIdOnce() async throws {
        let t = RecordedTransport(json: [(200, [:]), (200, [:])])
        let http = UpstreamHTTP(transport: t)
        _ = try await http.call("crud", "read", request, timeout: .seconds(1), context: context(deadline: .now + .seconds(30)))
        _ = try await http.call("crud", "read", request, timeout: .seconds(10), context: context(deadline: .now + .seconds(2)))
        #expect(t.sent[0].timeout == .seconds(1) && t.sent[1].timeout <= .seconds(2) && t.sent[1].timeout > .seconds(1))
        #expect(t.sent.allSatisfy { $0.header("x-request-id") == ["req-1"] && $0.header("accept") == ["application/json"] })
    }

    @Test func transportFailuresMapTo504And502() async {
        let t = RecordedTransport([.failure(.timeout), .failure(.unreachable("refused")), .failure(.bodyTooLarge)])
        let http = UpstreamHTTP(transport: t)
        await #expect(throws: UpstreamError(upstream: "a", operation: "o", kind: .timeout)) { _ = try await http.call("a", "o", request, timeout: .seconds(5), context: context()) }
        await #expect(throws: UpstreamError(upstream: "a", operation: "o", kind: .unreachable("refused"))) { _ = try await http.call("a", "o", request, timeout: .seconds(5), context: context()) }
        await #expect(throws: UpstreamError(upstream: "a", operation: "o", kind: .invalidResponse("answer too large"))) { _ = try await http.call("a", "o", request, timeout: .seconds(5), context: context()) }
    }
}

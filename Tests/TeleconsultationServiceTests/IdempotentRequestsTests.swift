import Foundation
import HTTPTypes
import Responder
import Synchronization
import Testing
import TeleconsultationPorts
@testable import TeleconsultationDomain
@testable import TeleconsultationService

/// Kept keys in memory, with a unique key as the CRUD's index makes it.
final class InMemoryIdempotencyRecords: IdempotencyRecords, @unchecked Sendable {
    let lock = NSLock()
    var records: [String: IdempotencyRecord] = [:]
    var counter = 0

    func insert(key: String, fingerprint: String, expiresAt: Timestamp, leaseUntil: Timestamp, context: UpstreamContext) async throws -> String? {
        lock.withLock {
            guard records[key] == nil else { return nil }
            counter += 1
            let id = String(format: "%024x", counter)
            records[key] = IdempotencyRecord(id: id, fingerprint: fingerprint, state: .processing, expiresAt: expiresAt, leaseUntil: leaseUntil)
            return id
        }
    }

    func find(key: String, context: UpstreamContext) async throws -> IdempotencyRecord? { lock.withLock { records[key] } }

    func takeOver(_ record: IdempotencyRecord, fingerprint: String, expiresAt: Timestamp, leaseUntil: Timestamp, context: UpstreamContext) async throws -> Bool {
        lock.withLock {
            guard let key = records.first(where: { $0.value.id == record.id })?.key, records[key] == record else { return false }
            records[key] = IdempotencyRecord(id: record.id, fingerprint: fingerprint, state: .processing, expiresAt: expiresAt, leaseUntil: leaseUntil)
            return true
        }
    }

    func update(_ id: String, _ change: (inout IdempotencyRecord) -> Void) {
        lock.withLock {
            guard let key = records.first(where: { $0.value.id == id })?.key else { return }
            change(&records[key]!)
        }
    }

    func complete(id: String, status: Int, body: String, context: UpstreamContext) async throws {
        update(id) { $0.state = .done; $0.status = status; $0.body = body }
    }

    func release(id: String, context: UpstreamContext) async throws { update(id) { $0.state = .released } }
}

/// A value behind a lock, shareable by the suite's closures.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T { lock.withLock { body(&value) } }
}

@Suite struct IdempotentRequestsTests {
    let records = InMemoryIdempotencyRecords()
    let clock = Locked(Timestamp(iso: "2026-06-01T12:00:00.000Z")!)
    let calls = Locked(0)

    var idempotent: IdempotentRequests {
        IdempotentRequests(records: records, ttlMilliseconds: 86_400_000, leaseMilliseconds: 60_000, now: { [clock] in clock.withLock { $0 } })
    }

    func request(key: String?, body: String = #"{"a":1}"#) -> Request {
        var fields = HTTPFields()
        if let key { fields[IdempotentRequests.header] = key }
        return Request(head: HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/teleconsultation", headerFields: fields), body: Array(body.utf8))
    }

    func send(_ r: Request, status: HTTPResponse.Status = .created) async throws -> Response {
        try await idempotent.run(r, route: "POST /teleconsultation", roomId: nil, callerId: "dr-who", context: context()) { [calls] in
            calls.withLock { $0 += 1 }
            return .json(status, ["roomId": .string("id-\(calls.withLock { $0 })")])
        }
    }

    func advance(hours: Int64) { clock.withLock { $0 = Timestamp(milliseconds: $0.milliseconds + hours * 3_600_000) } }

    @Test func theSameRequestIsAnsweredOnceAndReplayedUntilTheTTL() async throws {
        let first = try await send(request(key: "k"))
        let again = try await send(request(key: "k", body: #" {"a": 1} "#))
        #expect(calls.withLock { $0 } == 1 && again.body == first.body && again.status == .created)
        #expect(again.head.headerFields[IdempotentRequests.replayedHeader] == "true" && first.head.headerFields[IdempotentRequests.replayedHeader] == nil)
        advance(hours: 23)
        _ = try await send(request(key: "k"))
        #expect(calls.withLock { $0 } == 1)
        // Past the TTL the key counts as new.
        advance(hours: 2)
        let fresh = try await send(request(key: "k"))
        #expect(calls.withLock { $0 } == 2 && fresh.head.headerFields[IdempotentRequests.replayedHeader] == nil)
    }

    @Test func anotherRequestWithTheKeyIs422AndOneInProgressIs409() async throws {
        _ = try await send(request(key: "k"))
        await #expect(throws: IdempotencyError.reused) { _ = try await send(request(key: "k", body: #"{"a":2}"#)) }
        #expect(ErrorMapper.apiError(for: IdempotencyError.reused)?.status.code == 422)
        // A key held by a request still running: 409, until its lease ends (its process died).
        let now = clock.withLock { $0 }
        _ = try await records.insert(key: "held", fingerprint: RequestFingerprint.of(method: "POST", path: "/teleconsultation", body: Array("{}".utf8)), expiresAt: Timestamp(milliseconds: now.milliseconds + 86_400_000),
                                     leaseUntil: Timestamp(milliseconds: now.milliseconds + 60_000), context: context())
        let heldKey = try #require(try IdempotencyKey.parse("h")).scoped(route: "POST /teleconsultation", roomId: nil, callerId: "dr-who")
        records.lock.withLock { records.records[heldKey] = records.records.removeValue(forKey: "held") }
        await #expect(throws: IdempotencyError.inProgress) { _ = try await send(request(key: "h", body: "{}")) }
        #expect(ErrorMapper.apiError(for: IdempotencyError.inProgress)?.status == .conflict)
        advance(hours: 1)
        #expect(try await send(request(key: "h", body: "{}")).status == .created)
    }

    @Test func a5xxIsNotKept() async throws {
        #expect(try await send(request(key: "k"), status: .badGateway).status == .badGateway)
        let retried = try await send(request(key: "k"))
        #expect(retried.status == .created && calls.withLock { $0 } == 2)
    }

    @Test func withoutTheHeaderNothingChanges() async throws {
        _ = try await send(request(key: nil))
        _ = try await send(request(key: nil))
        #expect(calls.withLock { $0 } == 2 && records.records.isEmpty)
    }
}

import HTTPTypes
import Responder
import TeleconsultationDomain
import TeleconsultationPorts

/// The creating POSTs under an `Idempotency-Key` (API.md, "Beyond the original"): the first
/// request with a key is processed and its answer kept in the CRUD service (so the guarantee
/// holds across processes and hosts); the same request again gets the kept answer with
/// `Idempotent-Replayed: true` and writes nothing; the same key with another request is 422,
/// and while the first is processed 409. A 5xx is not kept. Without the header nothing changes.
public struct IdempotentRequests: Sendable {
    let records: any IdempotencyRecords
    /// How long an answer is kept (`IDEMPOTENCY_TTL_MS`).
    let ttlMilliseconds: Int64
    /// How long a request may hold its key: after this its process is taken for gone.
    let leaseMilliseconds: Int64
    let now: @Sendable () -> Timestamp

    public static let header = HTTPField.Name("Idempotency-Key")!
    public static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!

    public init(records: any IdempotencyRecords, ttlMilliseconds: Int64, leaseMilliseconds: Int64, now: @escaping @Sendable () -> Timestamp) {
        self.records = records
        self.ttlMilliseconds = ttlMilliseconds
        self.leaseMilliseconds = leaseMilliseconds
        self.now = now
    }

    /// Runs `handler` as the request's key says. `route` names the route (its pattern).
    public func run(_ request: Request, route: String, roomId: String?, callerId: String?, context: UpstreamContext,
                    _ handler: () async throws -> Response) async throws -> Response {
        guard let key = try IdempotencyKey.parse(request.head.headerFields[Self.header]) else { return try await handler() }
        let scoped = key.scoped(route: route, roomId: roomId, callerId: callerId)
        let fingerprint = RequestFingerprint.of(method: request.head.method.rawValue, path: request.head.path ?? "", body: request.body)
        let recordId = try await acquire(scoped, fingerprint: fingerprint, context: context)
        switch recordId {
        case .replay(let status, let body):
            var fields = HTTPFields()
            if !body.isEmpty { fields[.contentType] = "application/json; charset=utf-8" }
            fields[Self.replayedHeader] = "true"
            return Response(status: Self.status(status), headerFields: fields, body: Array(body.utf8))
        case .acquired(let id):
            let response: Response
            do { response = try await handler() } catch { response = ErrorMapper.response(for: error, logger: context.logger) }
            do {
                if response.status.code >= 500 {
                    try await records.release(id: id, context: context.compensating)
                } else {
                    try await records.complete(id: id, status: response.status.code, body: String(decoding: response.body, as: UTF8.self),
                                               context: context.compensating)
                }
            } catch {
                // The answer stands; a retry finds the key in progress until its lease ends.
                context.logger.error("Idempotency-Key record could not be written", metadata: ["error": .string(String(describing: error))])
            }
            return response
        }
    }

    enum Acquired { case acquired(String), replay(Int, String) }

    /// A kept status with its reason phrase (a status line without one breaks some clients).
    static func status(_ code: Int) -> HTTPResponse.Status {
        let known: [HTTPResponse.Status] = [.ok, .created, .noContent, .badRequest, .unauthorized, .forbidden, .notFound, .conflict,
                                            .contentTooLarge, .unprocessableContent]
        return known.first { $0.code == code } ?? HTTPResponse.Status(code: code, reasonPhrase: "Kept")
    }

    func acquire(_ key: String, fingerprint: String, context: UpstreamContext) async throws -> Acquired {
        // Bounded: each round either wins, or reads a record another request wrote.
        for _ in 0..<3 {
            let now = now()
            let expiresAt = Timestamp(milliseconds: now.milliseconds + ttlMilliseconds)
            let leaseUntil = Timestamp(milliseconds: now.milliseconds + leaseMilliseconds)
            if let id = try await records.insert(key: key, fingerprint: fingerprint, expiresAt: expiresAt, leaseUntil: leaseUntil, context: context) {
                return .acquired(id)
            }
            guard let existing = try await records.find(key: key, context: context) else { continue }
            switch IdempotencyDecision.decide(existing, fingerprint: fingerprint, now: now) {
            case .replay(let status, let body): return .replay(status, body)
            case .reused: throw IdempotencyError.reused
            case .inProgress: throw IdempotencyError.inProgress
            case .takeOver:
                if try await records.takeOver(existing, fingerprint: fingerprint, expiresAt: expiresAt, leaseUntil: leaseUntil, context: context) {
                    return .acquired(existing.id)
                }
            }
        }
        throw IdempotencyError.inProgress
    }
}

/// Why a request under a kept Idempotency-Key is not processed (texts: API.md).
enum IdempotencyError: Error, Sendable {
    /// The same key with another request: 422.
    case reused
    /// The first request with the key is still being processed: 409.
    case inProgress
}

import TeleconsultationDomain

/// Kept Idempotency-Keys, in the CRUD service: shared by every process and host, so the
/// guarantee holds across them. A unique index on the scoped key makes the first insert win.
public protocol IdempotencyRecords: Sendable {
    /// Records `key` as being processed; nil when a record for it exists already.
    func insert(key: String, fingerprint: String, expiresAt: Timestamp, leaseUntil: Timestamp, context: UpstreamContext) async throws -> String?
    /// The record kept for `key`; nil when there is none.
    func find(key: String, context: UpstreamContext) async throws -> IdempotencyRecord?
    /// Makes a free record (expired, released, abandoned) this request's, only if it is still
    /// as it was read: false when another request took it first.
    func takeOver(_ record: IdempotencyRecord, fingerprint: String, expiresAt: Timestamp, leaseUntil: Timestamp,
                  context: UpstreamContext) async throws -> Bool
    /// Keeps the answer.
    func complete(id: String, status: Int, body: String, context: UpstreamContext) async throws
    /// Frees the key (the answer was a 5xx, which is not kept).
    func release(id: String, context: UpstreamContext) async throws
}

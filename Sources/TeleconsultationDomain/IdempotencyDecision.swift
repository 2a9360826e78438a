/// A kept Idempotency-Key, as the store holds it.
public struct IdempotencyRecord: Sendable, Equatable {
    public enum State: String, Sendable, Equatable {
        /// A request with the key is being processed.
        case processing
        /// Its answer is kept.
        case done
        /// Its answer was a 5xx: not kept, the key is free again.
        case released
    }
    public var id: String
    public var fingerprint: String
    public var state: State
    /// After this the record counts as absent.
    public var expiresAt: Timestamp
    /// A `processing` record past this lost its process: the key is free again.
    public var leaseUntil: Timestamp
    /// The kept answer (`done` only).
    public var status: Int?
    public var body: String?

    public init(id: String, fingerprint: String, state: State, expiresAt: Timestamp, leaseUntil: Timestamp, status: Int? = nil, body: String? = nil) {
        self.id = id
        self.fingerprint = fingerprint
        self.state = state
        self.expiresAt = expiresAt
        self.leaseUntil = leaseUntil
        self.status = status
        self.body = body
    }
}

/// What a request carrying a key that is kept already gets (a pure decision).
public enum IdempotencyDecision: Sendable, Equatable {
    /// The first one finished: its answer again.
    case replay(status: Int, body: String)
    /// The same key with another request: 422.
    case reused
    /// The first one is still being processed: 409.
    case inProgress
    /// The key is free (expired, released, or its process is gone): take the record over.
    case takeOver

    public static func decide(_ record: IdempotencyRecord, fingerprint: String, now: Timestamp) -> IdempotencyDecision {
        if now >= record.expiresAt || record.state == .released { return .takeOver }
        if record.state == .processing && now >= record.leaseUntil { return .takeOver }
        if record.fingerprint != fingerprint { return .reused }
        switch record.state {
        case .processing: return .inProgress
        case .done:
            guard let status = record.status, let body = record.body else { return .takeOver }
            return .replay(status: status, body: body)
        case .released: return .takeOver
        }
    }
}

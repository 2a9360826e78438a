/// An upstream that failed: 502 when it answered wrongly, 504 when it did not answer in time.
public struct UpstreamError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Answered with an unexpected status.
        case status(Int)
        /// Answered something that is not what the contract says.
        case invalidResponse(String)
        /// Could not connect or the connection broke.
        case unreachable(String)
        /// No answer within the timeout.
        case timeout
    }

    /// `crud`, `bandyer`, `auth0` or `custom-id`.
    public let upstream: String
    public let operation: String
    public let kind: Kind

    public init(upstream: String, operation: String, kind: Kind) {
        self.upstream = upstream
        self.operation = operation
        self.kind = kind
    }

    public var description: String { "\(upstream) \(operation): \(kind)" }

    public var isTimeout: Bool { kind == .timeout }
}

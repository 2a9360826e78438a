import HTTPTypes
import Logging
import Responder
import TeleconsultationDomain

/// The one place where every error becomes an HTTP response.
public enum ErrorMapper {
    public static func apiError(for error: any Error) -> APIError? {
        switch error {
        case let e as APIError: return e
        case let e as UpstreamError: return e.apiError
        case let e as ValidationError: return .badRequest(e.message)
        default: return nil
        }
    }

    public static func payloadTooLarge(limit: Int) -> APIError {
        APIError(status: HTTPResponse.Status(code: 413, reasonPhrase: "Payload Too Large"), error: "Payload Too Large", message: "body must be at most \(limit) bytes")
    }

    public static func malformedRequest(_ detail: String) -> APIError {
        APIError(status: .badRequest, error: "Bad Request", message: "malformed request: \(detail)")
    }

    public static func response(for error: any Error, logger: Logger) -> Response {
        if let api = apiError(for: error) {
            if api.status.code >= 500 {
                logger.error("request failed", metadata: ["error": .string(api.message), "cause": .string(String(describing: error))])
            }
            return api.response
        }
        // Unexpected: log it with the request id, answer without detail.
        logger.error("unexpected error", metadata: ["error": .string(String(describing: error))])
        return APIError(status: .internalServerError, error: "Internal Server Error", message: "An unexpected error occurred").response
    }
}

/// An upstream that failed: 502 when it answered wrongly, 504 when it did not answer in time.
public struct UpstreamError: Error, Sendable, CustomStringConvertible {
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

    var apiError: APIError {
        switch kind {
        case .timeout:
            return APIError(status: .gatewayTimeout, error: "Gateway Timeout", message: "The \(upstream) service did not answer in time")
        default:
            return APIError(status: .badGateway, error: "Bad Gateway", message: "The \(upstream) service failed")
        }
    }
}

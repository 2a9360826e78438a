import HTTPTypes
import Logging
import Responder
import TeleconsultationDomain
import TeleconsultationPorts

/// The one place where every error becomes an HTTP response, with the fixed texts of the API.
public enum ErrorMapper {
    public static func apiError(for error: any Error) -> APIError? {
        switch error {
        case let e as APIError: return e
        case let e as TeleconsultationError: return fixedText(for: e)
        case let e as UpstreamError: return upstreamFailure(e)
        case let e as ValidationError: return .badRequest(e.message)
        case IdempotencyError.reused:
            return .fixed(HTTPResponse.Status(code: 422, reasonPhrase: "Unprocessable Content"), "Idempotency-Key reused with a different request")
        case IdempotencyError.inProgress: return .fixed(.conflict, "A request with this Idempotency-Key is in progress")
        case is AuditUnavailable:
            return APIError(status: .serviceUnavailable, error: "Service Unavailable", message: "The audit trail could not be written")
        case is PeerSecret.Refused: return untrustedPeer
        default: return nil
        }
    }

    static func fixedText(for error: TeleconsultationError) -> APIError {
        switch error {
        case .notFound(let id): return .fixed(.notFound, "Room with id \(ValidationError.excerpt(id)) not found on CRUD")
        case .immutable(let id): return .fixed(.conflict, "Teleconsultation \(id) can no longer be changed")
        case .alreadyComplete(let id): return .fixed(.conflict, "Teleconsultation \(id) already has all its participants")
        case .alreadyParticipant(let user, let id): return .fixed(.conflict, "Participant \(ValidationError.excerpt(user)) is already in teleconsultation \(id)")
        case .changedConcurrently(let id): return .fixed(.conflict, "Teleconsultation \(id) was changed concurrently, retry")
        case .unauthorized: return .fixed(.unauthorized, "Unauthorized user")
        case .noPlusUser(.create): return .fixed(.badRequest, "Failed POST /teleconsultation: no plus user in room")
        case .noPlusUser(.update): return .fixed(.badRequest, "Failed PATCH /teleconsultation: no plus user in room")
        case .noPlusUser(.addParticipant(let id)):
            return .fixed(.badRequest, "Failed POST /teleconsultation/\(id)/participants/data: no plus user in room")
        case .noAllowedGroup(let user): return .badRequest("user \(user) has no group allowed in the teleconsultation")
        case .unknownDirectoryUser(let user): return .badRequest("user \(ValidationError.excerpt(user)) not found on auth0-client")
        case .unknownCustomUser(let user): return .badRequest("user \(ValidationError.excerpt(user)) not found")
        }
    }

    static func upstreamFailure(_ error: UpstreamError) -> APIError {
        switch error.kind {
        case .timeout:
            return APIError(status: .gatewayTimeout, error: "Gateway Timeout", message: "The \(error.upstream) service did not answer in time")
        default:
            return APIError(status: .badGateway, error: "Bad Gateway", message: "The \(error.upstream) service failed")
        }
    }

    /// A request from a FastCGI peer without the web server's secret (whether it was missing
    /// or wrong is logged, not said).
    static let untrustedPeer = APIError(status: .forbidden, error: "Forbidden",
                                        message: "The request did not come through the configured web server")

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

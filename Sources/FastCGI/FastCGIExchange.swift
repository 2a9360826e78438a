import HTTPTypes
import Responder

/// A request as the transport read it through libfcgi: its head, its whole body, and the
/// params passed on; or why it is refused before reaching the application.
public struct FastCGIRequest: Sendable {
    /// nil when the params did not make a request head (`refusal` says why).
    public var head: HTTPRequest?
    public var body: [UInt8]
    /// The params the server was asked to pass on (`FastCGIServerConfiguration.passedParams`).
    public var serverVariables: [String: String]
    /// Set when the request is answered by the transport-failure responder, not the application.
    public var refusal: TransportFailure?
}

/// What went wrong before a request could reach the application.
public enum TransportFailure: Sendable, Equatable {
    case bodyTooLarge(limit: Int)
    case malformedRequest(String)
}

/// The application's answers to transport-level failures, so that the one place that
/// maps errors to HTTP stays in the application.
public protocol TransportFailureResponder: Sendable {
    func respond(to failure: TransportFailure, head: HTTPRequest?) async -> Response
}

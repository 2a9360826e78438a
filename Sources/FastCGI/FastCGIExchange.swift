import HTTPTypes
import NIOCore

/// A request as the transport read it: its head (or why it could not be mapped) and its
/// whole body.
public struct FastCGIRequest: Sendable {
    public var requestId: UInt16
    /// FCGI_KEEP_CONN: the web server keeps the connection for more requests.
    public var keepConnection: Bool
    public var head: Result<HTTPRequest, FastCGIRequestMapper.MappingError>
    /// The params the server was asked to pass on (`FastCGIServerConfiguration.passedParams`).
    public var serverVariables: [String: String] = [:]
    public var body: [UInt8]
    /// Set when the body was larger than its route allows (this limit); the body was dropped.
    public var bodyTooLarge: Int?
}

/// A response on its way out: the CGI response (status line, headers, body) for one request.
public struct FastCGIResponse: Sendable {
    public var requestId: UInt16
    public var keepConnection: Bool
    public var cgi: [UInt8]
}

/// The limits one connection reads requests under, and the params it passes on.
struct FastCGIConnectionLimits: Sendable {
    /// Largest body for a request head (its route may take more than the default).
    var bodyLimit: @Sendable (HTTPRequest) -> Int
    /// Largest PARAMS stream (the request's headers).
    var maxParamsBytes: Int = 128 * 1024
    /// A peer must deliver a whole request, and take a whole response, within this.
    var ioTimeout: TimeAmount
    /// A kept connection may wait this long for its next request.
    var idleTimeout: TimeAmount
    /// Once the server stops, how long a kept connection stays open for the web server to
    /// close it (see `FastCGIRequestAssembler`).
    var drainGrace: TimeAmount = .milliseconds(1_500)
    /// The names of the params passed on as server variables.
    var passedParams: [[UInt8]] = []
}

/// Told to a connection when the server stops: the drain grace starts.
struct FastCGIQuiesce: Sendable {}

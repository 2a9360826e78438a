import HTTPTypes

/// A request as the application sees it: no FastCGI, no sockets.
public struct Request: Sendable {
    /// Method, path (with query) and headers.
    public var head: HTTPRequest
    /// The whole body, already read.
    public var body: [UInt8]
    /// Variables the web server itself set for this request, not taken from the client (a
    /// client's headers are in `head`): only those the transport was asked to pass on.
    public var serverVariables: [String: String]

    public init(head: HTTPRequest, body: [UInt8] = [], serverVariables: [String: String] = [:]) {
        self.head = head
        self.body = body
        self.serverVariables = serverVariables
    }

    public var method: HTTPRequest.Method { head.method }

    /// The path without the query string (still percent-encoded).
    public var path: Substring {
        let full = head.path ?? "/"
        if let q = full.utf8.firstIndex(of: UInt8(ascii: "?")) { return full[..<q] }
        return full[...]
    }

    /// The raw query string, without the `?`.
    public var query: Substring {
        let full = head.path ?? "/"
        if let q = full.utf8.firstIndex(of: UInt8(ascii: "?")) { return full[full.utf8.index(after: q)...] }
        return ""
    }
}

/// A response as the application produces it.
public struct Response: Sendable {
    public var head: HTTPResponse
    public var body: [UInt8]

    public init(status: HTTPResponse.Status, headerFields: HTTPFields = [:], body: [UInt8] = []) {
        self.head = HTTPResponse(status: status, headerFields: headerFields)
        self.body = body
    }

    public var status: HTTPResponse.Status { head.status }
}

/// Turns a request into a response. The one thing a transport needs from the application.
public protocol Responder: Sendable {
    func respond(to request: Request) async -> Response
}

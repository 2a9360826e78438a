import Logging

/// What every upstream call carries from the incoming request.
public struct UpstreamContext: Sendable {
    public var requestId: String
    /// Headers named in ADDITIONAL_HEADERS_TO_PROXY (lower-case names), for the CRUD and auth0-client only.
    public var proxiedHeaders: [(String, String)]
    /// The user id header, forwarded to the CRUD so it fills creatorId/updaterId.
    public var userIdHeader: (String, String)?
    /// The incoming client type (the header `CLIENTTYPE_HEADER_KEY` names), if any.
    public var clientType: String?
    /// When the request's own work must be done: no call may outlive it.
    public var deadline: ContinuousClock.Instant
    /// Until when undo steps (deleting a room just made, fencing a write) may run. It lies
    /// after `deadline`, so undoing is possible when the work ran out of time, and it bounds
    /// the whole request.
    public var compensationDeadline: ContinuousClock.Instant
    /// Lines about this request carry its id.
    public var logger: Logger

    public init(requestId: String, proxiedHeaders: [(String, String)] = [], userIdHeader: (String, String)? = nil,
                clientType: String? = nil, deadline: ContinuousClock.Instant, compensationDeadline: ContinuousClock.Instant? = nil,
                logger: Logger) {
        self.requestId = requestId
        self.proxiedHeaders = proxiedHeaders
        self.userIdHeader = userIdHeader
        self.clientType = clientType
        self.deadline = deadline
        self.compensationDeadline = max(compensationDeadline ?? deadline, deadline)
        self.logger = logger
    }

    /// The same request, for undo steps: its deadline is the compensation deadline.
    public var compensating: UpstreamContext {
        var c = self
        c.deadline = compensationDeadline
        return c
    }
}

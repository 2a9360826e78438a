import HTTPTypes
import StrictJSON
import TeleconsultationDomain
import TeleconsultationPorts

/// What every upstream call of a request carries, from the request and the configuration.
struct UpstreamContextFactory: Sendable {
    let userIdHeaderKey: String
    let proxiedHeaders: [String]
    let clientTypeHeaderKey: String

    init(configuration: Configuration) {
        userIdHeaderKey = configuration.userIdHeaderKey
        proxiedHeaders = configuration.additionalHeadersToProxy
        clientTypeHeaderKey = configuration.clientTypeHeaderKey
    }

    func context(for c: RequestContext) -> UpstreamContext {
        let fields = c.request.head.headerFields
        var proxied: [(String, String)] = []
        for name in proxiedHeaders {
            guard let n = HTTPField.Name(name) else { continue }
            for value in fields[values: n] { proxied.append((name, value)) }
        }
        let userId = HTTPField.Name(userIdHeaderKey).flatMap { fields[$0] }.map { (userIdHeaderKey, $0) }
        return UpstreamContext(requestId: c.requestId, proxiedHeaders: proxied, userIdHeader: userId,
                               clientType: HTTPField.Name(clientTypeHeaderKey).flatMap { fields[$0] },
                               deadline: c.deadline, compensationDeadline: c.compensationDeadline, logger: c.logger)
    }
}

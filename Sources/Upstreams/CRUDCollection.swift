import StrictJSON
import TeleconsultationPorts

/// One collection of the CRUD service, for the adapters that keep the service's own records
/// there (kept Idempotency-Keys, the audit trail): the calls carry the CRUD-shaped headers,
/// and an unexpected answer is reported without its body.
struct CRUDCollection: Sendable {
    let http: UpstreamHTTP
    let baseURL: String
    let name: String
    let timeout: Duration
    static let upstream = "crud"

    /// `path` follows the collection's own path (`/<name>`).
    func call(_ operation: String, _ method: String, _ path: String, body: JSONValue? = nil, context: UpstreamContext) async throws -> UpstreamAnswer {
        try await http.call(Self.upstream, operation, UpstreamRequest(method: method, url: baseURL + "/" + name + path, headers: context.crudHeaders,
                                                                      body: body.map { .json($0) }),
                            timeout: timeout, context: context)
    }

    func unexpected(_ answer: UpstreamAnswer, _ operation: String, _ context: UpstreamContext) -> UpstreamError {
        http.unexpected(answer, Self.upstream, operation, context: context)
    }
}

import HTTPTypes
import Responder
import StrictJSON

/// Health, readiness, metrics and the OpenAPI document.
public enum PlatformRoutes {
    public static func register(in router: inout Router<Handler>, readiness: Readiness, metrics: ServiceMetrics, openAPI: JSONValue) {
        let ok: JSONValue = ["status": "OK", "name": .string(BuildInfo.name), "version": .string(BuildInfo.version)]
        let ko: JSONValue = ["status": "KO", "name": .string(BuildInfo.name), "version": .string(BuildInfo.version)]
        let okResponse = Response.json(.ok, ok)
        let koResponse = Response.json(.serviceUnavailable, ko)
        router.add(.get, "/-/healthz") { _ in okResponse }
        let ready: Handler = { _ in readiness.isDraining ? koResponse : okResponse }
        router.add(.get, "/-/ready", ready)
        router.add(.get, "/-/check-up", ready)
        router.add(.get, "/-/metrics") { _ in
            var fields = HTTPFields()
            fields[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headerFields: fields, body: metrics.render())
        }
        let document = Response.json(.ok, openAPI)
        router.add(.get, "/documentation/json") { _ in document }
    }
}

import FastCGI
import HTTPTypes
import Logging
import Responder
import TeleconsultationService

/// Wires configuration, upstream adapters, use cases and routes into the application.
struct ServiceAssembly: Sendable {
    let application: Application
    let readiness = Readiness()
    let metrics = ServiceMetrics()
    let transportFailures: TransportFailures

    init(configuration: Configuration, logger: Logger) {
        var router = Router<Handler>()
        PlatformRoutes.register(in: &router, readiness: readiness, metrics: metrics,
                                openAPI: OpenAPIDocument.make(basePath: configuration.basePath))
        application = Application(routes: router, basePath: configuration.basePath,
                                  requestTimeout: configuration.timeouts.request, logger: logger, metrics: metrics)
        transportFailures = TransportFailures(application: application)
    }

    func shutdown() {}
}

/// Transport failures answered through the application's one error mapping.
struct TransportFailures: TransportFailureResponder {
    let application: Application

    func respond(to failure: TransportFailure, head: HTTPRequest?) async -> Response {
        switch failure {
        case .bodyTooLarge(let limit):
            return application.respond(rejectedHead: head, error: ErrorMapper.payloadTooLarge(limit: limit))
        case .malformedRequest(let detail):
            return application.respond(rejectedHead: head, error: ErrorMapper.malformedRequest(detail))
        }
    }
}

import FastCGI
import Foundation
import HTTPTypes
import Logging
import Responder
import TeleconsultationDomain
import TeleconsultationService
import Upstreams

/// Wires configuration, upstream adapters, use cases and routes into the application.
struct ServiceAssembly: Sendable {
    let application: Application
    let readiness = Readiness()
    let metrics = ServiceMetrics()
    let transportFailures: TransportFailures
    let http: UpstreamHTTP

    init(configuration c: Configuration, logger: Logger) {
        let metrics = self.metrics
        let http = UpstreamHTTP(metrics: metrics, maxConnectionsPerHost: max(64, c.maxInFlight))
        self.http = http
        let store = CRUDTeleconsultationStore(http: http, baseURL: c.crudServiceURL, teleconsultations: c.teleconsultationsCRUDName,
                                              userMap: c.userIdMapCRUDName, timeout: c.timeouts.crud)
        let video = BandyerVideoProvider(http: http, baseURL: c.bandyerBaseURL, apiKey: c.bandyerAPISecretKey, timeout: c.timeouts.bandyer)
        let directory = c.authServiceURL.map {
            Auth0UserDirectory(http: http, baseURL: $0, defaultClientType: c.defaultClientType, timeout: c.timeouts.authService)
        }
        let useCases = TeleconsultationUseCases(
            store: store, video: video, directory: directory, privileges: c.privileges,
            schedule: Schedule(immutablePeriodMilliseconds: Int64(c.immutablePeriodMilliseconds), unlimited: c.unlimitedTeleconsultation),
            live: c.liveTeleconsultation,
            now: { Timestamp(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))) })
        var router = Router<Handler>()
        TeleconsultationRoutes(useCases: useCases, configuration: c).register(in: &router)
        PlatformRoutes.register(in: &router, readiness: self.readiness, metrics: metrics,
                                openAPI: OpenAPIDocument.make(basePath: c.basePath, mode: useCases.mode))
        application = Application(routes: router, basePath: c.basePath, requestTimeout: c.timeouts.request, logger: logger, metrics: metrics)
        transportFailures = TransportFailures(application: application)
    }

    /// Closes the shared HTTP client (after the drain).
    func shutdown() {
        let done = DispatchSemaphore(value: 0)
        let http = self.http
        Task { await http.shutdown(); done.signal() }
        _ = done.wait(timeout: .now() + 5)
    }
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

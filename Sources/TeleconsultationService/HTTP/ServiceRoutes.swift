import TeleconsultationPorts

/// Every route the service answers, in one router: the application and the test that
/// checks the OpenAPI document against it build it the same way.
public enum ServiceRoutes {
    public static func make(useCases: Teleconsultations, identity: (any UserDirectory)?, translator: (any UserIdTranslator)? = nil,
                            readiness: Readiness, metrics: ServiceMetrics, configuration: Configuration,
                            idempotency: IdempotentRequests? = nil) -> Router<Handler> {
        var router = Router<Handler>()
        TeleconsultationRoutes(useCases: useCases, configuration: configuration, idempotency: idempotency).register(in: &router)
        AccountRoutes(useCases: useCases, configuration: configuration, idempotency: idempotency).register(in: &router)
        IdentityRoutes(users: identity, translator: translator, configuration: configuration).register(in: &router)
        PlatformRoutes.register(in: &router, readiness: readiness, metrics: metrics,
                                openAPI: OpenAPIDocument.make(basePath: configuration.basePath, mode: useCases.mode))
        return router
    }
}

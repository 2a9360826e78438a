import ServiceLifecycle
import Upstreams

/// The shared HTTP client as a service: it closes its connections once graceful shutdown
/// reaches it, after the FastCGI server has drained (the service group goes in reverse order).
struct HTTPClientService: Service {
    let transport: AsyncHTTPClientTransport

    func run() async throws {
        // Until shutdown reaches this service (or it is cancelled).
        try? await gracefulShutdown()
        await transport.shutdown()
    }
}

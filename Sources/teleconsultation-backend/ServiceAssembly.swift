import FastCGI
import Foundation
import HTTPTypes
import Logging
import NIOSSL
import Responder
import TeleconsultationDomain
import TeleconsultationPorts
import TeleconsultationService
import Upstreams

/// Wires configuration, upstream adapters, use cases and routes into the application.
struct ServiceAssembly: Sendable {
    let application: Application
    let readiness = Readiness()
    let metrics: ServiceMetrics
    let transportFailures: TransportFailures
    let transport: AsyncHTTPClientTransport
    let sweep: SweepRooms

    init(configuration c: Configuration, metrics: ServiceMetrics, logger: Logger) {
        self.metrics = metrics
        let transport = AsyncHTTPClientTransport(configuration: Self.outbound(c))
        self.transport = transport
        let http = UpstreamHTTP(transport: transport)
        let store = CRUDTeleconsultationStore(http: http, baseURL: c.crudServiceURL, teleconsultations: c.teleconsultationsCRUDName,
                                              userMap: c.userIdMapCRUDName, roomClaims: c.roomClaimsCRUDName, timeout: c.timeouts.crud)
        let video = BandyerVideoProvider(http: http, baseURL: c.bandyerBaseURL, apiKey: c.bandyerAPISecretKey, timeout: c.timeouts.bandyer,
                                         dialect: c.bandyerAPIVersion == .v2 ? .v2 : .v1)
        let directory: any ParticipantDirectory
        var translator: (any UserIdTranslator)?
        if let endpoint = c.customIdUsersEndpoint, let fields = c.customUserId {
            translator = CustomIdUsersEndpoint(http: http, endpoint: endpoint, source: fields.source, target: fields.target, timeout: c.timeouts.crud)
        }
        if let auth = c.authServiceURL {
            directory = Auth0Directory(privileges: c.privileges,
                                       users: Auth0UserDirectory(http: http, baseURL: auth, defaultClientType: c.defaultClientType,
                                                                 clientTypeHeaderKey: c.clientTypeHeaderKey, timeout: c.timeouts.authService),
                                       translator: translator)
        } else {
            directory = StandaloneDirectory(privileges: c.privileges, store: store)
        }
        let deps = UseCaseDependencies(
            store: store, video: video, directory: directory,
            planner: RoomPlanner(privileges: c.privileges, live: c.liveTeleconsultation, recording: c.recordingType),
            schedule: Schedule(immutablePeriodMilliseconds: Int64(c.immutablePeriodMilliseconds), unlimited: c.unlimitedTeleconsultation),
            retry: ConflictRetry(budget: .seconds(5), clock: EventLoopClock()), backgrounds: BackgroundPolicy(groups: c.groupsWithBackgroundList),
            now: { Timestamp(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))) })
        let audit = c.auditCRUDName.map { name -> (log: AuditLog, trail: any AuditTrail) in
            let trail = CRUDAuditTrail(http: http, baseURL: c.crudServiceURL, collection: name, timeout: c.timeouts.crud)
            return (AuditLog(trail: trail, required: c.auditRequired, now: deps.now, failed: { [metrics] in metrics.auditWriteFailed() }), trail)
        }
        let useCases = Teleconsultations(deps, deleteUploads: c.deleteUploads, audit: audit)
        sweep = SweepRooms(store: store, video: video, grace: .milliseconds(c.sweepGraceMilliseconds), now: deps.now)
        let identity = c.identityServiceURL.map {
            Auth0UserDirectory(http: http, baseURL: $0, defaultClientType: c.defaultClientType,
                               clientTypeHeaderKey: c.clientTypeHeaderKey, timeout: c.timeouts.authService)
        }
        let requestBound = c.timeouts.requestBound.components
        let idempotency = IdempotentRequests(
            records: CRUDIdempotencyRecords(http: http, baseURL: c.crudServiceURL, collection: c.idempotencyCRUDName, timeout: c.timeouts.crud),
            ttlMilliseconds: Int64(c.idempotencyTTLMilliseconds),
            // A request holds its key at most as long as it may run, its undo included.
            leaseMilliseconds: requestBound.seconds * 1000 + requestBound.attoseconds / 1_000_000_000_000_000 + 5_000, now: deps.now)
        let router = ServiceRoutes.make(useCases: useCases, identity: identity, translator: translator, readiness: readiness,
                                        metrics: metrics, configuration: c, idempotency: idempotency)
        application = Application(routes: router, basePath: c.basePath, requestTimeout: c.timeouts.request,
                                  compensationTimeout: c.timeouts.compensation, logger: logger, metrics: metrics,
                                  peerSecret: c.peerSecret.map(PeerSecret.init))
        transportFailures = TransportFailures(application: application)
    }
}

extension ServiceAssembly {
    /// The outbound HTTP settings: the pool as large as the requests in flight, the proxies of
    /// the process environment, the system's roots plus `UPSTREAM_CA_FILE`'s certificates.
    static func outbound(_ c: Configuration) -> AsyncHTTPClientTransport.Configuration {
        var t = AsyncHTTPClientTransport.Configuration()
        t.maxConnectionsPerHost = max(64, c.maxInFlight)
        if let path = c.upstreamCAFile {
            do { t.tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(path))] } catch {
                StartupFailure.exit(key: "UPSTREAM_CA_FILE", reason: "\(path) cannot be read as PEM certificates: \(error)")
            }
        }
        let proxies = c.outboundProxies
        t.proxy = { scheme, host, port in
            proxies.proxy(scheme: scheme, host: host, port: port).map {
                OutboundProxy(host: $0.host, port: $0.port, username: $0.username, password: $0.password)
            }
        }
        return t
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

import CoreMetrics
import FastCGI
import Foundation
import Glibc
import Logging
import NIOCore
import NIOPosix
import Prometheus
import Responder
import ServiceLifecycle
import TeleconsultationService

// A peer that hung up is an error return, not a death.
signal(SIGPIPE, SIG_IGN)
// Request tasks and the HTTP client share NIO's event-loop threads: no hop between Swift's
// global executor and the event loops on every upstream call (must come before any task).
let eventLoopsAreTheExecutor = EventLoopExecutor.install()

let usage = """
    Usage: teleconsultation-backend [--socket PATH|HOST:PORT] [--check-config] [--version]
           teleconsultation-backend sweep [--dry-run]

    Serves the teleconsultation API over FastCGI. Without --socket (or FCGI_SOCKET) it
    serves the listening socket it inherited: LISTEN_FDS (fd 3) or standard input (fd 0).
    --check-config validates the environment and the config file, then exits 0 or 1.
    sweep deletes the rooms this deployment claimed and no longer needs (trashed
    teleconsultations' rooms, claimed rooms nobody points to), never another's; prints one
    JSON summary line; exits 1 when a room could not be deleted or an upstream failed.
    """

var socketArgument: String?
var checkOnly = false
var sweepCommand = false
var dryRun = false
var arguments = CommandLine.arguments.dropFirst()
if arguments.first == "sweep" {
    sweepCommand = true
    arguments.removeFirst()
}
while let arg = arguments.popFirst() {
    switch arg {
    case "--dry-run" where sweepCommand: dryRun = true
    case "--socket":
        guard let v = arguments.popFirst() else { StartupFailure.exit(key: "--socket", reason: "needs a value") }
        socketArgument = v
    case let a where a.hasPrefix("--socket="): socketArgument = String(a.dropFirst("--socket=".count))
    case "--check-config": checkOnly = true
    case "--version": print(BuildInfo.version); exit(0)
    case "--help", "-h": print(usage); exit(0)
    default: StartupFailure.exit(key: arg, reason: "unknown argument (see --help)")
    }
}

let environment = ProcessInfo.processInfo.environment
let configuration: Configuration
do {
    configuration = try Configuration.load(environment: environment)
} catch {
    StartupFailure.exit(key: error.key, reason: error.reason)
}

let logLevel = configuration.logLevel.swiftLogLevel  // nil: silent
let standardError = BatchedStandardError()
LoggingSystem.bootstrap { label in
    guard let logLevel else { return SwiftLogNoOpLogHandler() }
    return JSONLogHandler(label: label, level: logLevel, sink: standardError.write)
}
let logger = Logger(label: BuildInfo.name)
for warning in configuration.warnings { logger.warning("configuration", metadata: ["warning": .string(warning)]) }
// Outbound HTTP: how each upstream is reached, direct or through which proxy (never its credentials).
var outboundRoutes: Logger.Metadata = ["upstreamCAFile": .string(configuration.upstreamCAFile ?? "none (system roots)")]
for (name, url) in configuration.upstreamURLs { outboundRoutes[name] = .string(configuration.outboundProxies.route(for: url)) }
logger.info("outbound routes", metadata: outboundRoutes)

if checkOnly {
    // Checks and exits, also as `sweep --check-config`: nothing is called, nothing deleted.
    logger.info("configuration is valid", metadata: ["mode": .string(configuration.isAuth0Mode ? "auth0" : "standalone"),
                                                     "bandyerAPIVersion": .string(configuration.bandyerAPIVersion.rawValue),
                                                     "nginxProfile": .string(configuration.nginxProfile.rawValue),
                                                     "peerSecret": .string(configuration.peerSecret == nil ? "not required" : "required")])
    exit(0)
}

// SIGTERM/SIGINT are blocked before any thread starts (the threads inherit the mask) and read
// from a signalfd: by the ShutdownSignals service of the server, or by the sweep.
let shutdownSignals: ShutdownSignals
do { shutdownSignals = try ShutdownSignals.block(logger: logger) } catch { StartupFailure.exit(key: "signals", reason: error.description) }

if sweepCommand {
    let service = ServiceAssembly(configuration: configuration, metrics: ServiceMetrics(), logger: logger)
    runOnTheEventLoopsThenExit(flushing: standardError) { [dryRun, configuration, logger, shutdownSignals] in
        await SweepCommand.run(service.sweep, dryRun: dryRun, configuration: configuration, signals: shutdownSignals, logger: logger)
    }
}

// 1 000 connections need 2 000 descriptors: take the hard limit.
var limit = rlimit()
if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
    limit.rlim_cur = limit.rlim_max
    setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
}

let listenSocket: ListenSocket
do {
    if let text = socketArgument ?? configuration.socket {
        listenSocket = try ListenSocket.parse(text)
    } else if let inherited = ListenSocket.inheritedFromParent(environment: environment) {
        listenSocket = inherited
    } else {
        StartupFailure.exit(key: "FCGI_SOCKET", reason: "no --socket, no FCGI_SOCKET, and no listening socket on fd 0 or LISTEN_FDS")
    }
} catch {
    StartupFailure.exit(key: "FCGI_SOCKET", reason: error.description)
}

let listenFD: Int32
do { listenFD = try listenSocket.open(socketGroup: configuration.socketGroup) } catch { StartupFailure.exit(key: "FCGI_SOCKET", reason: error.description) }

let metrics = ServiceMetrics()
var metricsFactory = PrometheusMetricsFactory(registry: metrics.registry)
metricsFactory.defaultDurationHistogramBuckets = ServiceMetrics.buckets
MetricsSystem.bootstrap(metricsFactory)
let service = ServiceAssembly(configuration: configuration, metrics: metrics, logger: logger)
var fcgiConfiguration = FastCGIServerConfiguration()
fcgiConfiguration.maxBodyBytes = configuration.maxBodyBytes
let application = service.application
fcgiConfiguration.bodyLimit = { [configuration] head in
    application.bodyLimit(for: head, bodyLimit: configuration.maxBodyBytes, uploadLimit: configuration.maxUploadBytes)
}
fcgiConfiguration.maxInFlight = configuration.maxInFlight
fcgiConfiguration.ioThreads = configuration.fastCGIIOThreads
fcgiConfiguration.ioTimeoutMilliseconds = configuration.fastCGIIOTimeoutMilliseconds
fcgiConfiguration.idleTimeoutMilliseconds = configuration.fastCGIIdleTimeoutMilliseconds
fcgiConfiguration.drainGraceMilliseconds = configuration.fastCGIDrainGraceMilliseconds
fcgiConfiguration.shutdownTimeout = configuration.timeouts.shutdown
fcgiConfiguration.sleep = { try await EventLoopClock().sleep(for: $0) }
// The web server's secret reaches the application (which checks it) as a server variable.
if configuration.peerSecret != nil { fcgiConfiguration.passedParams = [PeerSecret.param] }
let server = FastCGIServer(listenFD: listenFD, configuration: fcgiConfiguration, responder: service.application,
                           failureResponder: service.transportFailures, logger: logger,
                           onGracefulShutdown: { [readiness = service.readiness] in readiness.startDraining() })
logger.info("listening", metadata: [
    "executor": .string(eventLoopsAreTheExecutor ? "event loops" : "default"),
    "socket": .string("\(listenSocket)"),
    "mode": .string(configuration.isAuth0Mode ? "auth0" : "standalone"),
    "bandyerAPIVersion": .string(configuration.bandyerAPIVersion.rawValue),
    "basePath": .string(configuration.basePath),
    "nginxProfile": .string(configuration.nginxProfile.rawValue),
    "peerSecret": .string(configuration.peerSecret == nil ? "not required" : "required"),
    "version": .string(BuildInfo.version),
])

// The long-lived parts as services: SIGTERM/SIGINT shut the server down gracefully (it stops
// accepting and drains); the exit closes the upstream connections. The drain deadline (SHUTDOWN_TIMEOUT_MS)
// is the server's own, on the event loops' timers: the service group's would sleep on Dispatch.
// A second SIGTERM or SIGINT during the drain ends the process at once, saying what it abandons.
shutdownSignals.onSecondSignal { [logger, server, standardError, listenSocket] name in
    let abandoned = server.requestsInFlight
    logger.error("second \(name): stopping at once", metadata: [
        "abandoned": .stringConvertible(abandoned.count), "requests": .array(abandoned.map { .string($0) }),
    ])
    standardError.flushAll()
    if case .unix(let path) = listenSocket { unlink(path) }
    Glibc.exit(1)
}
let groupConfiguration = ServiceGroupConfiguration(services: [
    .init(service: shutdownSignals, successTerminationBehavior: .gracefullyShutdownGroup),
    .init(service: server),
], logger: logger)
runOnTheEventLoopsThenExit(flushing: standardError) { [logger, listenSocket] in
    var exitCode: Int32 = 0
    do {
        try await ServiceGroup(configuration: groupConfiguration).run()
        if server.abandonedRequests.isEmpty { logger.info("stopped") } else { exitCode = 1 }
    } catch {
        if !(error is FastCGIServer.AbandonedRequests) {
            logger.critical("stopped on an error", metadata: ["error": .string(String(describing: error))])
        }
        exitCode = 1
    }
    if case .unix(let path) = listenSocket { unlink(path) }
    return exitCode
}

/// Runs `body` as a task on the global executor (the event loops) and exits with the code it
/// returns, once the log lines still gathered are written; the main thread only waits. Not a
/// top-level `await` (nor `dispatchMain()`): those hand libdispatch's main queue to a worker
/// thread of the user-initiated class, which asks for nice -4 and, refused in the sandbox,
/// writes a line that is not JSON to the journal.
func runOnTheEventLoopsThenExit(flushing standardError: BatchedStandardError,
                                _ body: @escaping @Sendable () async -> Int32) -> Never {
    Task.detached {
        let code = await body()
        standardError.flushAll()
        Glibc.exit(code)
    }
    // Nothing wakes the main thread (the shutdown signals are blocked); the process ends by exit().
    while true { pause() }
}

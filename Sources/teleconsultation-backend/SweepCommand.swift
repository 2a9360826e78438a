import Foundation
import Logging
import StrictJSON
import Synchronization
import TeleconsultationPorts
import TeleconsultationService
import Upstreams

/// `teleconsultation-backend sweep [--dry-run]`: one run of the sweep, its summary as one JSON
/// line on standard output (logs on standard error), exit 1 when a room that should have gone
/// is still there or the sweep could not look (an upstream failed, a listing was ambiguous).
///
/// SIGTERM/SIGINT and `SWEEP_DEADLINE_MS` stop it between rooms (exit 0, `"stopped": true`):
/// the calls under way finish within their own timeouts, so a room taken off a trashed
/// teleconsultation is deleted, or its claim stays for the next run.
enum SweepCommand {
    /// How long the calls under way at the deadline may still take (each has its own timeout).
    static let lastCallsMargin: Duration = .seconds(60)

    /// The upstream connections are closed by the process's exit, not by AsyncHTTPClient's
    /// shutdown (see `AsyncHTTPClientTransport.shutdown`).
    static func run(_ sweep: SweepRooms, dryRun: Bool, configuration: Configuration, signals: ShutdownSignals, logger: Logger) async -> Int32 {
        var logger = logger
        let runId = "sweep-" + String(UInt64(Date().timeIntervalSince1970 * 1000), radix: 36)
        logger[metadataKey: "reqId"] = .string(runId)
        let deadline = ContinuousClock.now + .milliseconds(configuration.sweepDeadlineMilliseconds)
        let context = UpstreamContext(requestId: runId, deadline: deadline + lastCallsMargin, logger: logger)
        let signalled = Atomic(false)
        let signalWatch = Task {
            try? await signals.run()
            signalled.store(true, ordering: .relaxed)
        }
        logger.info("sweep started", metadata: ["dryRun": .stringConvertible(dryRun), "bandyerAPIVersion": .string(configuration.bandyerAPIVersion.rawValue),
                                                "deadlineMs": .stringConvertible(configuration.sweepDeadlineMilliseconds)])
        let summary = await sweep.run(dryRun: dryRun, context: context) { [logger] in
            if signalled.load(ordering: .relaxed) { return true }
            if ContinuousClock.now >= deadline {
                logger.warning("sweep deadline reached (SWEEP_DEADLINE_MS): stopping between rooms")
                return true
            }
            return false
        }
        signalWatch.cancel()
        var line = summary.json.jsonBytes
        line.append(0x0A)
        FileHandle.standardOutput.write(Data(line))
        return summary.isFailure ? 1 : 0
    }
}

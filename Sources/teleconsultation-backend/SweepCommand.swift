import Foundation
import Logging
import StrictJSON
import TeleconsultationPorts
import TeleconsultationService
import Upstreams

/// `teleconsultation-backend sweep [--dry-run]`: one run of the sweep, its summary as one JSON
/// line on standard output (logs on standard error), exit 1 only when a room that should
/// have gone is still there (or the sweep could not look).
enum SweepCommand {
    static func run(_ sweep: SweepRooms, dryRun: Bool, configuration: Configuration, logger: Logger,
                    close transport: HTTP1ClientTransport) async -> Int32 {
        var logger = logger
        let runId = "sweep-" + String(UInt64(Date().timeIntervalSince1970 * 1000), radix: 36)
        logger[metadataKey: "reqId"] = .string(runId)
        // A sweep may take a while; each call keeps its own timeout.
        let context = UpstreamContext(requestId: runId, deadline: .now + .seconds(3600), logger: logger)
        logger.info("sweep started", metadata: ["dryRun": .stringConvertible(dryRun), "bandyerAPIVersion": .string(configuration.bandyerAPIVersion.rawValue)])
        var code: Int32 = 0
        var summary: SweepRooms.Summary
        do {
            summary = try await sweep.run(dryRun: dryRun, context: context)
            if summary.failed > 0 { code = 1 }
        } catch {
            logger.error("sweep stopped: an upstream failed", metadata: ["error": .string(String(describing: error))])
            summary = SweepRooms.Summary()
            summary.failed = 1
            code = 1
        }
        var line = summary.json.jsonBytes
        line.append(0x0A)
        FileHandle.standardOutput.write(Data(line))
        await transport.shutdown()
        return code
    }
}

import Foundation
import Hummingbird
import NIOCore
import StrictJSON

/// Local stand-ins for the CRUD service, Bandyer and auth0-client on one port:
/// `/crud/<collection>/…`, `/bandyer/…`, `/auth0/…`, and a control API under `/_control/`.
/// See the README.
let env = ProcessInfo.processInfo.environment
var host = "127.0.0.1"
var port = 8090
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--port": port = Int(args.popFirst() ?? "") ?? port
    case "--host": host = args.popFirst() ?? host
    default:
        FileHandle.standardError.write(Data("usage: upstream-emulator [--host H] [--port P] (0 picks a free port)\n".utf8))
        exit(2)
    }
}
let settings = EmulatorSettings(
    bandyerKey: env["BANDYER_API_SECRET_KEY"] ?? "local-bandyer-key",
    // A comma-separated list: the collections of several deployments on one CRUD (two by
    // default: a staging deployment beside the first).
    teleconsultations: (env["TELECONSULTATIONS_CRUD_NAME"] ?? "teleconsultations,teleconsultations-staging").split(separator: ",").map(String.init),
    roomClaims: env["ROOM_CLAIMS_CRUD_NAME"] ?? "teleconsultation-room-claims",
    idempotency: env["IDEMPOTENCY_CRUD_NAME"] ?? "teleconsultation-idempotency",
    audit: env["AUDIT_CRUD_NAME"] ?? "teleconsultation-audit",
    userMap: env["USER_ID_MAP_CRUD_NAME"] ?? "teleconsultation-users",
    customUsers: env["CUSTOM_USERS_CRUD_NAME"] ?? "users",
    clientTypes: (env["AUTH0_CLIENT_TYPES"] ?? "frontend,backoffice").split(separator: ",").map(String.init),
    clientTypeHeader: (env["CLIENTTYPE_HEADER_KEY"] ?? "client-type").lowercased())
let state = EmulatorState(settings: settings)
let router = Router()
router.add(middleware: StandInMiddleware(state: state))
CRUDStandIn.register(on: router, state: state)
BandyerStandIn.register(on: router, state: state)
Auth0StandIn.register(on: router, state: state)
ControlRoutes.register(on: router, state: state)
let address = (host, port)
let app = Application(
    router: router,
    configuration: .init(address: .hostname(host, port: port), serverName: "upstream-emulator"),
    onServerRunning: { channel in
        // The first line on stdout is the port, for scripts and tests that asked for port 0.
        let line = "upstream-emulator listening on \(address.0):\(channel.localAddress?.port ?? address.1)\n"
        FileHandle.standardOutput.write(Data(line.utf8))
    })
do {
    try await app.runService()
} catch {
    // One line for the scripts and the person reading them, not a crash with a backtrace.
    let reason = (error as? IOError)?.errnoCode == EADDRINUSE ? "the port is taken (ss -ltnp 'sport = :\(port)' says by whom)" : "\(error)"
    FileHandle.standardError.write(Data("upstream-emulator: cannot serve on \(host):\(port): \(reason)\n".utf8))
    exit(1)
}

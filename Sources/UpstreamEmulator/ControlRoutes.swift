import Hummingbird
import StrictJSON

/// The control API tests and the walk-through use: reset, state, the request log, faults,
/// seeded auth0 users and raw CRUD documents.
enum ControlRoutes {
    static func register(on router: Router<BasicRequestContext>, state: EmulatorState) {
        router.post("/_control/reset") { _, _ in
            await state.reset()
            return Reply.noContent.response
        }
        router.get("/_control/state") { _, _ in Reply.json(200, await state.snapshot).response }
        router.get("/_control/requests") { _, _ in Reply.json(200, .array(await state.requestLog)).response }
        router.delete("/_control/requests") { _, _ in
            await state.clearLog()
            return Reply.noContent.response
        }
        router.get("/_control/faults") { _, _ in Reply.json(200, await state.faultStatus).response }
        // Long polls: answer 200 once the condition holds, 408 after `timeoutMs` (default 10 s).
        // `?delaying=N`: exactly N requests are held by a fault's delay; `?atLeast=N`: N or more.
        router.get("/_control/wait/delaying") { request, _ in
            let r = try await Incoming.read(request)
            let timeout = Duration.milliseconds(Int(r.query["timeoutMs"] ?? "") ?? 10_000)
            let ok: Bool
            if let n = r.query["atLeast"].flatMap(Int.init) {
                ok = await state.waitUntil(timeout: timeout) { $0.delaying >= n }
            } else {
                let n = r.query["delaying"].flatMap(Int.init) ?? 0
                ok = await state.waitUntil(timeout: timeout) { $0.delaying == n }
            }
            return Reply.json(ok ? 200 : 408, await state.faultStatus).response
        }
        // `?count=N`: the request log holds at least N requests.
        router.get("/_control/wait/requests") { request, _ in
            let r = try await Incoming.read(request)
            let timeout = Duration.milliseconds(Int(r.query["timeoutMs"] ?? "") ?? 10_000)
            let n = r.query["count"].flatMap(Int.init) ?? 1
            let ok = await state.waitUntil(timeout: timeout) { $0.requestLog.count >= n }
            return Reply.json(ok ? 200 : 408, ["requests": .number(Double(await state.requestLog.count))]).response
        }
        router.post("/_control/faults") { request, _ in
            let r = try await Incoming.read(request)
            guard let o = r.json?.objectValue, let service = o["service"]?.stringValue else { return Reply.error(400, "fault needs service").response }
            await state.addFault(Fault(service: service, method: o["method"]?.stringValue, path: o["path"]?.stringValue,
                                       status: o["status"]?.intValue, body: o["body"]?.stringValue,
                                       delayMs: o["delayMs"]?.intValue ?? 0, hold: o["hold"]?.boolValue ?? false, times: o["times"]?.intValue,
                                       strip: o["strip"]?.arrayValue?.compactMap(\.stringValue) ?? []))
            return Reply.noContent.response
        }
        router.delete("/_control/faults") { _, _ in
            await state.clearFaults()
            return Reply.noContent.response
        }
        // The requests held by `"hold": true` faults go on (answered, or carried out late).
        router.post("/_control/faults/release") { _, _ in
            await state.release()
            return Reply.noContent.response
        }
        router.put("/_control/auth0/users") { request, _ in
            let r = try await Incoming.read(request)
            guard let list = r.json?.arrayValue else { return Reply.error(400, "body must be an array of users").response }
            await state.setAuth0Users(list)
            return Reply.noContent.response
        }
        // Files shared in a room, as if participants had uploaded them: {"room_id", "keys": [...]}.
        router.post("/_control/bandyer/uploads") { request, _ in
            let r = try await Incoming.read(request)
            guard let room = r.json?["room_id"]?.stringValue, let keys = r.json?["keys"]?.arrayValue?.compactMap(\.stringValue) else {
                return Reply.error(400, "body must be {\"room_id\", \"keys\": [...]}").response
            }
            await state.seedUploads(room: room, keys: keys)
            return Reply.noContent.response
        }
        // Rooms at the provider as if made at a given date: [{"room_id", "creation_date"}].
        router.post("/_control/bandyer/rooms") { request, _ in
            let r = try await Incoming.read(request)
            guard let list = r.json?.arrayValue else { return Reply.error(400, "body must be an array of rooms").response }
            return await state.seedRooms(list).response
        }
        // Virtual backgrounds the company has: {"aliases": [...]}.
        router.post("/_control/bandyer/backgrounds") { request, _ in
            let r = try await Incoming.read(request)
            guard let aliases = r.json?["aliases"]?.arrayValue?.compactMap(\.stringValue) else {
                return Reply.error(400, "body must be {\"aliases\": [...]}").response
            }
            for a in aliases { await state.seedBackground(alias: a) }
            return Reply.noContent.response
        }
        router.post("/_control/crud/:collection") { request, c in
            let r = try await Incoming.read(request)
            guard let list = r.json?.arrayValue else { return Reply.error(400, "body must be an array of documents").response }
            return await state.crudSeed(c.parameters.get("collection") ?? "", documents: list).response
        }
    }
}

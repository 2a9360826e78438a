import Foundation
import StrictJSON

/// One injected fault: matching requests wait `delayMs` (or, held, until the next release),
/// then get `status` (and `body`) or, without a status, are carried out late.
struct Fault: Sendable {
    var service: String
    var method: String?
    /// Matches when the path (after the service prefix) contains it.
    var path: String?
    var status: Int?
    var body: String?
    var delayMs: Int
    /// Held until the control API releases it: "late" is then after whatever the test awaited
    /// first (the app's answer), not after a time that a slow machine could outlast.
    var hold = false
    /// The releases there had been when a request met it: the next one lets that request go.
    var releasesBefore = 0
    /// How many more requests it applies to (nil: every one).
    var times: Int?
    /// Carried out normally, but these keys are removed from the answer (at the top and
    /// under `room`): an answer outside the contract for work that really happened.
    var strip: [String] = []
}

struct EmulatorSettings: Sendable {
    var bandyerKey: String
    /// Teleconsultations collections (several: deployments sharing one CRUD and one provider account).
    var teleconsultations: [String]
    /// Room claims, shared by those deployments.
    var roomClaims: String
    /// Kept Idempotency-Keys (a unique index on `key`).
    var idempotency: String
    /// The audit trail (a unique index on `dedupe`).
    var audit: String
    var userMap: String
    /// The CRUD-like collection of the custom-id users endpoint.
    var customUsers: String
    var clientTypes: [String]
    /// The header auth0-client reads the client type from.
    var clientTypeHeader: String
}

/// Everything the stand-ins remember: CRUD collections, Bandyer users, rooms, uploads and
/// company settings, auth0 users, the request log and the faults.
actor EmulatorState {
    let settings: EmulatorSettings
    var collections: [String: [JSONObject]] = [:]
    var bandyerUsers: [(id: String, role: String)] = []
    var rooms: [JSONObject] = []
    /// Files shared in rooms: key, room_id, user_id, upload_type, creation_date.
    var uploads: [JSONObject] = []
    /// Virtual backgrounds by alias: url, creation_date.
    var backgrounds: [(alias: String, url: String, creationDate: String)] = []
    var company: JSONObject = ["name": "Stand-in Clinic", "default_language": "en", "default_background": .null,
                               "end_call_redirect_url": .null, "user_details_provider_url": .null, "end_call_redirect_timeout_ms": 0]
    var auth0Users: [JSONValue] = []
    var requestLog: [JSONValue] = []
    var faults: [Fault] = []
    /// Requests held by a fault's delay right now (tests wait for zero instead of sleeping).
    var delaying = 0
    /// Releases so far: a held request waits for the next one.
    var releases = 0
    var counter: UInt64 = 0

    init(settings: EmulatorSettings) { self.settings = settings }

    func reset() {
        collections = [:]; bandyerUsers = []; rooms = []; auth0Users = []; requestLog = []; faults = []; uploads = []; backgrounds = []
        release()
    }

    func log(_ entry: JSONValue) {
        requestLog.append(entry)
        notifyWaiters()
    }
    func clearLog() { requestLog = [] }

    func addFault(_ f: Fault) { faults.append(f) }
    /// Forgets the faults; the requests they hold go on.
    func clearFaults() {
        faults = []
        release()
    }

    /// Lets every held request go on.
    func release() {
        releases += 1
        notifyWaiters()
    }

    /// Returns at the first release after `fault` was met (or after `limit`, so that no
    /// request is held for ever).
    func hold(_ fault: Fault, limit: Duration) async {
        let after = fault.releasesBefore
        _ = await waitUntil(timeout: limit) { $0.releases > after }
    }

    /// The first fault that matches, consumed once.
    func takeFault(service: String, method: String, path: String) -> Fault? {
        for i in faults.indices {
            let f = faults[i]
            guard f.service == service, f.method == nil || f.method == method, f.path.map({ path.contains($0) }) ?? true else { continue }
            if let t = f.times {
                if t <= 0 { continue }
                faults[i].times = t - 1
            }
            var met = f
            met.releasesBefore = releases
            return met
        }
        return nil
    }

    func delayStarted() {
        delaying += 1
        notifyWaiters()
    }
    func delayEnded() {
        delaying -= 1
        notifyWaiters()
    }

    // MARK: waiting on the stand-in's own state (tests wait on events, not on the clock)

    struct Waiter {
        var condition: @Sendable (isolated EmulatorState) -> Bool
        var continuation: CheckedContinuation<Bool, Never>
    }
    var waiters: [UInt64: Waiter] = [:]

    /// Returns true once `condition` holds, false when `timeout` ran out first.
    func waitUntil(timeout: Duration, _ condition: @escaping @Sendable (isolated EmulatorState) -> Bool) async -> Bool {
        if condition(self) { return true }
        counter += 1
        let id = counter
        return await withCheckedContinuation { continuation in
            waiters[id] = Waiter(condition: condition, continuation: continuation)
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                await self?.expire(id)
            }
        }
    }

    func expire(_ id: UInt64) {
        waiters.removeValue(forKey: id)?.continuation.resume(returning: false)
    }

    func notifyWaiters() {
        for (id, w) in waiters where w.condition(self) {
            waiters.removeValue(forKey: id)?.continuation.resume(returning: true)
        }
    }

    var faultStatus: JSONValue {
        ["pending": .number(Double(faults.reduce(0) { $0 + max($1.times ?? 1, 0) })), "delaying": .number(Double(delaying))]
    }

    func nextId() -> String {
        counter += 1
        let seconds = UInt64(Date().timeIntervalSince1970)
        let a = String(seconds, radix: 16)
        let b = String(counter, radix: 16)
        return String(repeating: "0", count: max(0, 8 - a.count)) + a + String(repeating: "0", count: 16 - b.count) + b
    }

    func nextToken(_ prefix: String) -> String {
        counter += 1
        return "\(prefix)_\(String(counter, radix: 16))\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }

    var snapshot: JSONValue {
        [
            "crud": .object(JSONObject(collections.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.array($0.value.map(JSONValue.object))) })),
            "bandyer": [
                "users": .array(bandyerUsers.map { ["user_id": .string($0.id), "role": .string($0.role)] }),
                "rooms": .array(rooms.map(JSONValue.object)),
                "uploads": .array(uploads.map(JSONValue.object)),
                "backgrounds": .array(backgrounds.map { ["alias": .string($0.alias), "url": .string($0.url)] }),
                "company": .object(company),
            ],
            "auth0": ["users": .array(auth0Users)],
        ]
    }

    func setAuth0Users(_ users: [JSONValue]) { auth0Users = users }
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let withMillis: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()
}

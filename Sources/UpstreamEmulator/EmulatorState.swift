import Foundation
import StrictJSON

/// One injected fault: matching requests get `status` (and `body`) and/or wait `delayMs`.
struct Fault: Sendable {
    var service: String
    var method: String?
    /// Matches when the path (after the service prefix) contains it.
    var path: String?
    var status: Int?
    var body: String?
    var delayMs: Int
    /// How many more requests it applies to (nil: every one).
    var times: Int?
}

/// A contract violation or an answer, as the real upstream would give it.
struct Reply: Sendable {
    var status: Int
    var body: JSONValue?
    var raw: String?

    static func json(_ status: Int, _ body: JSONValue) -> Reply { Reply(status: status, body: body) }
    static func error(_ status: Int, _ message: String) -> Reply {
        let phrase = [400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict"][status] ?? "Error"
        return .json(status, ["statusCode": .number(Double(status)), "error": .string(phrase), "message": .string(message)])
    }
    static let notFound = Reply.json(404, ["error": "not found"])
}

/// Everything the stand-ins remember: CRUD collections, Bandyer users and rooms, auth0 users,
/// the request log and the faults.
actor EmulatorState {
    let settings: EmulatorSettings
    var collections: [String: [JSONObject]] = [:]
    var bandyerUsers: [(id: String, role: String)] = []
    var rooms: [JSONObject] = []
    var auth0Users: [JSONValue] = []
    var requestLog: [JSONValue] = []
    var faults: [Fault] = []
    var counter: UInt64 = 0

    init(settings: EmulatorSettings) { self.settings = settings }

    func reset() {
        collections = [:]; bandyerUsers = []; rooms = []; auth0Users = []; requestLog = []; faults = []
    }

    func log(_ entry: JSONValue) { requestLog.append(entry) }

    func addFault(_ f: Fault) { faults.append(f) }
    func clearFaults() { faults = [] }

    /// The first fault that matches, consumed once.
    func takeFault(service: String, method: String, path: String) -> Fault? {
        for i in faults.indices {
            let f = faults[i]
            guard f.service == service, f.method == nil || f.method == method, f.path == nil || path.contains(f.path!) else { continue }
            if let t = f.times {
                if t <= 0 { continue }
                faults[i].times = t - 1
            }
            return f
        }
        return nil
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
            ],
            "auth0": ["users": .array(auth0Users)],
        ]
    }

    func setAuth0Users(_ users: [JSONValue]) { auth0Users = users }
}

import NIOHTTP1
import StrictJSON
import TeleconsultationDomain
import TeleconsultationService

/// The video provider on Bandyer's REST API v1. Only `apikey` and `x-request-id` go out:
/// no proxied header ever reaches this third party.
public struct BandyerVideoProvider: VideoProvider {
    let http: UpstreamHTTP
    let baseURL: String
    let apiKey: String
    let timeout: Duration

    public init(http: UpstreamHTTP, baseURL: String, apiKey: String, timeout: Duration) {
        self.http = http
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.timeout = timeout
    }

    func call(_ operation: String, _ method: HTTPMethod, _ path: String, body: JSONValue?, context: UpstreamContext) async throws -> UpstreamHTTP.Answer {
        try await http.call(upstream: "bandyer", operation: operation, method: method, url: baseURL + path,
                            headers: [("apikey", apiKey)], body: body, timeout: timeout, context: context)
    }

    func invalid(_ operation: String, _ what: String) -> UpstreamError {
        UpstreamError(upstream: "bandyer", operation: operation, kind: .invalidResponse(what))
    }

    public func createUser(role: Role, context: UpstreamContext) async throws -> String {
        let answer = try await call("create user", .POST, "/user/create", body: ["role": .string(role.rawValue)], context: context)
        guard answer.status == 200 || answer.status == 201 else {
            throw UpstreamError(upstream: "bandyer", operation: "create user", kind: .status(answer.status))
        }
        let v = try answer.json("bandyer", "create user")
        let candidates = [v["user_id"], v["id"], v["user"]?["id"], v["user"]?["user_id"]]
        guard let id = candidates.lazy.compactMap({ $0?.stringValue }).first, Identifiers.isProviderId(id) else {
            throw invalid("create user", "no valid user id")
        }
        return id
    }

    public func createRoom(_ plan: RoomPlan, context: UpstreamContext) async throws -> CreatedRoom {
        var body = JSONObject()
        body["participants"] = .array(plan.members.map { m in
            var o = JSONObject()
            o["user_id"] = .string(m.bandyerUserId)
            o["is_admin"] = .bool(m.isAdmin)
            if let tools = m.tools { o["tools"] = tools.json }
            return .object(o)
        })
        if let d = plan.durationSeconds { body["duration"] = .number(Double(d)) }
        body["live"] = .bool(plan.live)
        let answer = try await call("create room", .POST, "/room/create", body: .object(body), context: context)
        guard answer.status == 200 || answer.status == 201 else {
            throw UpstreamError(upstream: "bandyer", operation: "create room", kind: .status(answer.status))
        }
        let v = try answer.json("bandyer", "create room")
        let room = v["room"] ?? v
        guard let roomId = (room["room_id"] ?? v["room_id"])?.stringValue, Identifiers.isProviderId(roomId) else {
            throw invalid("create room", "no valid room id")
        }
        var links: [String: String] = [:]
        for u in (room["user_urls"] ?? v["user_urls"])?.arrayValue ?? [] {
            if let user = u["user"]?.stringValue, let url = u["url"]?.stringValue, url.hasPrefix("http") { links[user] = url }
        }
        for m in plan.members where links[m.bandyerUserId] == nil {
            // A room without a link for one of its members is useless: undo it and fail.
            try? await deleteRoom(id: roomId, context: context)
            throw invalid("create room", "no link for a participant")
        }
        return CreatedRoom(roomId: roomId, links: links)
    }

    public func deleteRoom(id: String, context: UpstreamContext) async throws {
        precondition(Identifiers.isProviderId(id), "room ids are validated when they arrive")
        let answer = try await call("delete room", .DELETE, "/room/delete/\(id)", body: nil, context: context)
        // 404: already gone, which is what we wanted.
        guard [200, 204, 404].contains(answer.status) else {
            throw UpstreamError(upstream: "bandyer", operation: "delete room", kind: .status(answer.status))
        }
    }
}

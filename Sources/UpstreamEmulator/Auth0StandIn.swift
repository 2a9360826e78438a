import Hummingbird
import StrictJSON

/// auth0-client: `/users/?_q={"user_id":{"$in":[…]}}` (an unknown client type is 401) and
/// `/userinfo` for the user a bearer token or a `sid` cookie belongs to (the seeded users'
/// `token`).
enum Auth0StandIn {
    static func register(on router: Router<BasicRequestContext>, state: EmulatorState) {
        router.get("/auth0/users") { request, _ in
            let r = try await Incoming.read(request)
            return await state.auth0Users(query: r.query, clientType: r.header(state.settings.clientTypeHeader)).response
        }
        router.get("/auth0/userinfo") { request, _ in
            let r = try await Incoming.read(request)
            return await state.auth0UserInfo(authorization: r.header("authorization"), cookie: r.header("cookie")).response
        }
    }
}

extension EmulatorState {
    func auth0Users(query: [String: String], clientType: String?) -> Reply {
        guard let clientType, settings.clientTypes.contains(clientType) else { return .error(401, "unknown client-type") }
        guard let q = query["_q"], let filter = try? JSONParser.parse(q), let o = filter.objectValue, o.keys == ["user_id"],
              let ids = o["user_id"]?["$in"]?.arrayValue, o["user_id"]?.objectValue?.keys == ["$in"]
        else { return .error(400, "_q must be {\"user_id\": {\"$in\": [...]}}") }
        return .json(200, .array(auth0Users.filter { u in ids.contains(u["user_id"] ?? .null) }.map(Self.withoutToken)))
    }

    func auth0UserInfo(authorization: String?, cookie: String?) -> Reply {
        var token: String?
        if let a = authorization, a.hasPrefix("Bearer ") { token = String(a.dropFirst(7)) }
        if token == nil, let cookie {
            for part in cookie.split(separator: ";") {
                let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if kv.count == 2 && kv[0] == "sid" { token = String(kv[1]) }
            }
        }
        guard let token, !token.isEmpty, let user = auth0Users.first(where: { $0["token"]?.stringValue == token }) else {
            return .error(401, "not logged in")
        }
        var info = JSONObject([("sub", user["user_id"] ?? .null)])
        if let n = user["name"] { info["name"] = n }
        if let g = user["groups"] ?? user["app_metadata"]?["groups"] { info["groups"] = g }
        return .json(200, .object(info))
    }

    static func withoutToken(_ user: JSONValue) -> JSONValue {
        guard var o = user.objectValue else { return user }
        o["token"] = nil
        return .object(o)
    }
}

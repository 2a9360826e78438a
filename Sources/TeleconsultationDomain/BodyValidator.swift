import StrictJSON

/// Validation of request bodies by hand: unknown keys, duplicate keys, wrong types and
/// impossible dates are all refused, and every message names the field.
public enum BodyValidator {
    public static let minParticipants = 2
    public static let maxParticipants = 25
    public static let maxIdLength = 4096
    public static let maxTextLength = 1024

    /// No object or array in a request body may have more members than this (the largest
    /// legitimate one has 25): a hostile body is refused before it costs memory.
    public static let maxMembers = 1_000

    /// Parses the body as strict JSON; `rootKeys`: the keys its route reads (any other is
    /// refused at once, with the message the route's validation gives it); nil: any.
    public static func parse(_ bytes: [UInt8], rootKeys: [String]? = nil) throws(ValidationError) -> JSONValue {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw ValidationError("body must be object")
        }
        do {
            return try JSONParser.parse(bytes, limits: .init(maxMembers: maxMembers, rootKeys: rootKeys.map(Set.init)))
        } catch {
            let at = "body" + error.path
            switch error.reason {
            case .duplicateKey(let key): throw ValidationError("\(at) must NOT have duplicate key '\(ValidationError.excerpt(key))'")
            case .tooDeep(let limit): throw ValidationError("body must NOT be nested deeper than \(limit) levels")
            case .unexpectedKey(let key): throw ValidationError("body must NOT have additional property '\(ValidationError.excerpt(key))'")
            case .tooManyMembers(let limit, let inObject):
                throw ValidationError("\(at) must NOT have more than \(limit) \(inObject ? "properties" : "items")")
            case .syntax: throw ValidationError("body is not valid JSON: \(error.description)")
            }
        }
    }

    /// The root keys of each body (the participant route's include those refused in auth0
    /// mode: their validation says why).
    public static let creationKeys = teleconsultationKeys
    public static let participantKeys = ["userExternalId", "userId", "groups", "group", "fullName", "language"]
    public static let credentialsKeys = ["expiresIn"]
    public static let settingsUpdateKeys = ["background_alias"]

    static let teleconsultationKeys = ["participants", "start_date", "end_date", "duration_in_seconds"]
    public static let minimumDurationInSeconds = 300
    public static let maximumDurationInSeconds = 86_400

    /// POST /teleconsultation: participants and start_date, and end_date or duration_in_seconds.
    public static func creation(_ body: JSONValue, mode: OperatingMode) throws(ValidationError) -> TeleconsultationInput {
        let o = try object(body, at: "body", allowed: teleconsultationKeys)
        for key in ["participants", "start_date"] where o[key] == nil {
            throw ValidationError("body must have required property '\(key)'")
        }
        if o["end_date"] == nil && o["duration_in_seconds"] == nil {
            throw ValidationError("body must have required property 'end_date' or 'duration_in_seconds'")
        }
        return try teleconsultation(o, mode: mode)
    }

    /// PATCH /teleconsultation/:roomId: the same fields, all optional, at least one.
    public static func update(_ body: JSONValue, mode: OperatingMode) throws(ValidationError) -> TeleconsultationInput {
        let o = try object(body, at: "body", allowed: teleconsultationKeys)
        if o.count == 0 { throw ValidationError("body must have at least one of 'participants', 'start_date', 'end_date', 'duration_in_seconds'") }
        return try teleconsultation(o, mode: mode)
    }

    /// POST /teleconsultation/:roomId/participants/data: one participant.
    public static func participant(_ body: JSONValue, mode: OperatingMode) throws(ValidationError) -> ParticipantInput {
        try participantItem(body, at: "body", mode: mode)
    }

    static func teleconsultation(_ o: JSONObject, mode: OperatingMode) throws(ValidationError) -> TeleconsultationInput {
        var input = TeleconsultationInput()
        if let p = o["participants"] { input.participants = try participants(p, mode: mode) }
        if let s = o["start_date"] { input.startDate = try date(s, at: "body/start_date") }
        if let e = o["end_date"] { input.endDate = try date(e, at: "body/end_date") }
        if let d = o["duration_in_seconds"] {
            if input.endDate != nil {
                throw ValidationError("body must NOT have both 'end_date' and 'duration_in_seconds'")
            }
            input.durationSeconds = try integer(d, at: "body/duration_in_seconds", min: minimumDurationInSeconds, max: maximumDurationInSeconds)
        }
        if let s = input.startDate, let e = input.endDate, e <= s {
            throw ValidationError("body/end_date must be after body/start_date")
        }
        return input
    }

    static func integer(_ value: JSONValue, at: String, min: Int, max: Int) throws(ValidationError) -> Int {
        guard let n = value.intValue else { throw ValidationError("\(at) must be integer") }
        if n < min { throw ValidationError("\(at) must be >= \(min)") }
        if n > max { throw ValidationError("\(at) must be <= \(max)") }
        return n
    }

    static func participants(_ value: JSONValue, mode: OperatingMode) throws(ValidationError) -> TeleconsultationInput.Participants {
        let at = "body/participants"
        if case .array(let ids) = value {
            guard mode == .auth0 else {
                throw ValidationError("\(at) must be object (an array of user ids needs auth0 mode)")
            }
            try count(ids.count, at: at)
            var data: [ParticipantInput] = []
            for (i, v) in ids.enumerated() {
                data.append(ParticipantInput(userExternalId: try identifier(v, at: "\(at)/\(i)")))
            }
            try unique(data, at: at, path: { "\(at)/\($0)" })
            return TeleconsultationInput.Participants(number: ids.count, data: data)
        }
        let o = try object(value, at: at, allowed: ["number", "data"])
        guard let n = o["number"] else { throw ValidationError("\(at) must have required property 'number'") }
        guard let d = o["data"] else { throw ValidationError("\(at) must have required property 'data'") }
        let number = try integer(n, at: "\(at)/number", min: minParticipants, max: maxParticipants)
        guard let items = d.arrayValue else { throw ValidationError("\(at)/data must be array") }
        if items.count > number { throw ValidationError("\(at)/data must NOT have more than \(number) items (body/participants/number)") }
        var data: [ParticipantInput] = []
        for (i, item) in items.enumerated() {
            data.append(try participantItem(item, at: "\(at)/data/\(i)", mode: mode))
        }
        try unique(data, at: at, path: { "\(at)/data/\($0)/userExternalId" })
        return TeleconsultationInput.Participants(number: number, data: data)
    }

    static func count(_ n: Int, at: String) throws(ValidationError) {
        if n < minParticipants { throw ValidationError("\(at) must NOT have fewer than \(minParticipants) items") }
        if n > maxParticipants { throw ValidationError("\(at) must NOT have more than \(maxParticipants) items") }
    }

    static func unique(_ data: [ParticipantInput], at: String, path: (Int) -> String) throws(ValidationError) {
        var seen = Set<String>()
        for (i, p) in data.enumerated() where !seen.insert(p.userExternalId).inserted {
            throw ValidationError("\(path(i)) must be unique: participant \(ValidationError.excerpt(p.userExternalId)) appears twice")
        }
    }

    static func participantItem(_ value: JSONValue, at: String, mode: OperatingMode) throws(ValidationError) -> ParticipantInput {
        let allowed = mode == .auth0 ? ["userExternalId", "userId", "language"]
                                     : ["userExternalId", "userId", "groups", "group", "fullName", "language"]
        guard let o = value.objectValue else { throw ValidationError("\(at) must be object") }
        for k in o.keys where !allowed.contains(k) {
            if mode == .auth0 && ["groups", "group", "fullName"].contains(k) {
                throw ValidationError("\(at)/\(k) is not allowed in auth0 mode: it comes from auth0-client")
            }
            throw ValidationError("\(at) must NOT have additional property '\(ValidationError.excerpt(k))'")
        }
        if o["userExternalId"] != nil && o["userId"] != nil {
            throw ValidationError("\(at) must have only one of 'userExternalId' and 'userId'")
        }
        let idKey = o["userId"] != nil ? "userId" : "userExternalId"
        guard let idValue = o[idKey] else { throw ValidationError("\(at) must have required property 'userExternalId'") }
        var input = ParticipantInput(userExternalId: try identifier(idValue, at: "\(at)/\(idKey)"))
        if let l = o["language"] { input.language = try text(l, at: "\(at)/language") }
        guard mode == .standalone else { return input }
        if o["groups"] != nil && o["group"] != nil {
            throw ValidationError("\(at) must have only one of 'groups' and 'group'")
        }
        if let g = o["groups"] {
            guard let list = g.arrayValue else { throw ValidationError("\(at)/groups must be array") }
            if list.isEmpty { throw ValidationError("\(at)/groups must NOT have fewer than 1 items") }
            var groups: [String] = []
            for (i, v) in list.enumerated() { groups.append(try text(v, at: "\(at)/groups/\(i)")) }
            input.groups = groups
        } else if let g = o["group"] {
            input.groups = [try text(g, at: "\(at)/group")]
        } else {
            throw ValidationError("\(at) must have required property 'groups'")
        }
        guard let name = o["fullName"] else { throw ValidationError("\(at) must have required property 'fullName'") }
        input.fullName = try text(name, at: "\(at)/fullName")
        return input
    }

    static func object(_ value: JSONValue, at: String, allowed: [String]) throws(ValidationError) -> JSONObject {
        guard let o = value.objectValue else { throw ValidationError("\(at) must be object") }
        for k in o.keys where !allowed.contains(k) {
            throw ValidationError("\(at) must NOT have additional property '\(ValidationError.excerpt(k))'")
        }
        return o
    }

    static func identifier(_ value: JSONValue, at: String) throws(ValidationError) -> String {
        guard let s = value.stringValue else { throw ValidationError("\(at) must be string") }
        if s.isEmpty { throw ValidationError("\(at) must NOT have fewer than 1 characters") }
        if s.utf8.count > maxIdLength { throw ValidationError("\(at) must NOT have more than \(maxIdLength) bytes") }
        if ValidationError.hasControlCharacter(s) { throw ValidationError("\(at) must NOT contain control characters") }
        return s
    }

    static func text(_ value: JSONValue, at: String) throws(ValidationError) -> String {
        guard let s = value.stringValue else { throw ValidationError("\(at) must be string") }
        if s.isEmpty { throw ValidationError("\(at) must NOT have fewer than 1 characters") }
        if s.utf8.count > maxTextLength { throw ValidationError("\(at) must NOT have more than \(maxTextLength) bytes") }
        if ValidationError.hasControlCharacter(s) { throw ValidationError("\(at) must NOT contain control characters") }
        return s
    }

    static func date(_ value: JSONValue, at: String) throws(ValidationError) -> Timestamp {
        guard let s = value.stringValue else { throw ValidationError("\(at) must be string") }
        guard let t = Timestamp(iso: s) else {
            throw ValidationError("\(at) must be a valid date-time YYYY-MM-DDTHH:mm:ss.sssZ")
        }
        return t
    }

    // MARK: the later routes

    public static let minimumExpiresIn = 360
    public static let maximumExpiresIn = 86_400
    public static let defaultExpiresIn = 3_600

    /// POST /credentials: an optional `{"expiresIn": 360..86400}`; the seconds the token lives.
    public static func credentials(_ bytes: [UInt8]) throws(ValidationError) -> Int {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return defaultExpiresIn }
        let o = try object(try parse(bytes, rootKeys: credentialsKeys), at: "body", allowed: credentialsKeys)
        guard let e = o["expiresIn"] else { return defaultExpiresIn }
        return try integer(e, at: "body/expiresIn", min: minimumExpiresIn, max: maximumExpiresIn)
    }

    /// PATCH /settings/update: `{"background_alias": "<alias>"}`.
    public static func settingsUpdate(_ body: JSONValue) throws(ValidationError) -> String {
        let o = try object(body, at: "body", allowed: settingsUpdateKeys)
        guard let a = o["background_alias"] else { throw ValidationError("body must have required property 'background_alias'") }
        return try text(a, at: "body/background_alias")
    }
}

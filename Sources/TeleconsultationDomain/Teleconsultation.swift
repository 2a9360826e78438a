import StrictJSON

/// One participant as stored on the CRUD.
public struct Participant: Sendable, Equatable {
    public var userExternalId: String
    public var userBandyerId: String?
    /// Standalone mode only.
    public var groups: [String]?
    /// Standalone mode only.
    public var fullName: String?
    public var language: String?
    /// Exists only while a room exists.
    public var accessLinkURL: String?

    public init(userExternalId: String, userBandyerId: String? = nil, groups: [String]? = nil, fullName: String? = nil,
                language: String? = nil, accessLinkURL: String? = nil) {
        self.userExternalId = userExternalId
        self.userBandyerId = userBandyerId
        self.groups = groups
        self.fullName = fullName
        self.language = language
        self.accessLinkURL = accessLinkURL
    }

    public var json: JSONValue {
        var o = JSONObject()
        o["userExternalId"] = .string(userExternalId)
        if let userBandyerId { o["userBandyerId"] = .string(userBandyerId) }
        if let groups { o["groups"] = .array(groups.map(JSONValue.string)) }
        if let fullName { o["fullName"] = .string(fullName) }
        if let language { o["language"] = .string(language) }
        if let accessLinkURL { o["accessLinkURL"] = .string(accessLinkURL) }
        return .object(o)
    }

    /// Lenient: what the original service stored keeps working.
    public init?(json: JSONValue) {
        guard let o = json.objectValue, let id = o["userExternalId"]?.stringValue ?? o["userId"]?.stringValue else { return nil }
        userExternalId = id
        userBandyerId = o["userBandyerId"]?.stringValue
        if let g = o["groups"]?.arrayValue { groups = g.compactMap(\.stringValue) }
        else if let g = o["group"]?.stringValue { groups = [g] }
        fullName = o["fullName"]?.stringValue
        language = o["language"]?.stringValue
        accessLinkURL = o["accessLinkURL"]?.stringValue
    }
}

/// A teleconsultation as stored on the CRUD.
public struct Teleconsultation: Sendable, Equatable {
    public enum State: String, Sendable { case waitingParticipants = "WAITING_PARTICIPANTS", ready = "READY" }

    public var id: String
    public var startDate: Timestamp
    public var endDate: Timestamp
    public var participantsNumber: Int
    public var participants: [Participant]
    public var bandyerRoomId: String?
    /// nil for documents written before the field existed.
    public var version: Int?

    public init(id: String, startDate: Timestamp, endDate: Timestamp, participantsNumber: Int, participants: [Participant],
                bandyerRoomId: String? = nil, version: Int? = nil) {
        self.id = id
        self.startDate = startDate
        self.endDate = endDate
        self.participantsNumber = participantsNumber
        self.participants = participants
        self.bandyerRoomId = bandyerRoomId
        self.version = version
    }

    public var isComplete: Bool { participants.count >= participantsNumber }

    public var state: State { bandyerRoomId == nil ? .waitingParticipants : .ready }

    public func participant(externalId: String) -> Participant? {
        participants.first { $0.userExternalId == externalId }
    }

    /// Reads a CRUD document; nil when a required field is missing or malformed.
    public init?(document: JSONValue) {
        guard let o = document.objectValue, let id = o["_id"]?.stringValue,
              let start = o["startDate"]?.stringValue.flatMap(Timestamp.init(iso:)),
              let end = o["endDate"]?.stringValue.flatMap(Timestamp.init(iso:)),
              let number = o["participantsNumber"]?.intValue
        else { return nil }
        let list = o["participants"]?.arrayValue ?? []
        var participants: [Participant] = []
        for item in list {
            guard let p = Participant(json: item) else { return nil }
            participants.append(p)
        }
        self.init(id: id, startDate: start, endDate: end, participantsNumber: number, participants: participants,
                  bandyerRoomId: o["bandyerRoomId"]?.stringValue, version: o["version"]?.intValue)
    }

    /// The fields we write (everything but `_id` and the CRUD's own).
    public var fields: JSONObject {
        var o = JSONObject()
        o["startDate"] = .string(startDate.iso)
        o["endDate"] = .string(endDate.iso)
        o["participantsNumber"] = .number(Double(participantsNumber))
        o["participants"] = .array(participants.map(\.json))
        if let bandyerRoomId { o["bandyerRoomId"] = .string(bandyerRoomId) }
        o["teleconsultationState"] = .string(state.rawValue)
        if let version { o["version"] = .number(Double(version)) }
        return o
    }
}

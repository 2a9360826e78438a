/// A teleconsultation as the store keeps it. The store's wire format is the CRUD adapter's business.
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

    /// The participant with this external id (never one whose id is unknown: empty).
    public func participant(externalId: String) -> Participant? {
        guard !externalId.isEmpty else { return nil }
        return participants.first { $0.userExternalId == externalId }
    }

    /// The same teleconsultation one version later: what a conditional write stores.
    public var nextVersion: Teleconsultation {
        var next = self
        next.version = (version ?? 0) + 1
        return next
    }

    /// Every participant keeps a link only while there is a room; `links` maps Bandyer user ids to them.
    public mutating func setRoom(_ roomId: String?, links: [String: String]) {
        bandyerRoomId = roomId
        for i in participants.indices {
            participants[i].accessLinkURL = roomId == nil ? nil : participants[i].userBandyerId.flatMap { links[$0] }
        }
    }

    /// The links of the room as stored, by Bandyer user id.
    public var links: [String: String] {
        var out: [String: String] = [:]
        for p in participants {
            if let b = p.userBandyerId, let link = p.accessLinkURL, out[b] == nil { out[b] = link }
        }
        return out
    }
}

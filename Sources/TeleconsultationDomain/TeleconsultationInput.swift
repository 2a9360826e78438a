/// A validated POST or PATCH body.
public struct TeleconsultationInput: Sendable, Equatable {
    public struct Participants: Sendable, Equatable {
        public var number: Int
        public var data: [ParticipantInput]
        public init(number: Int, data: [ParticipantInput]) {
            self.number = number
            self.data = data
        }
    }

    public var participants: Participants?
    public var startDate: Timestamp?
    public var endDate: Timestamp?
    /// `duration_in_seconds`: sets the end from the start (never together with `endDate`).
    public var durationSeconds: Int?

    public init(participants: Participants? = nil, startDate: Timestamp? = nil, endDate: Timestamp? = nil, durationSeconds: Int? = nil) {
        self.participants = participants
        self.startDate = startDate
        self.endDate = endDate
        self.durationSeconds = durationSeconds
    }

    /// Whether the body changes when the teleconsultation happens.
    public var movesDates: Bool { startDate != nil || endDate != nil || durationSeconds != nil }
}

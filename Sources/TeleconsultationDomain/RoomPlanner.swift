/// Which room a teleconsultation needs: none while a participant is missing, else one
/// made of every participant with its role's admin flag and tools.
public struct RoomPlanner: Sendable, Equatable {
    public var privileges: Privileges
    public var live: Bool
    public var recording: RecordingType

    public init(privileges: Privileges, live: Bool, recording: RecordingType = .none) {
        self.privileges = privileges
        self.live = live
        self.recording = recording
    }

    public struct NoPlusUser: Error, Equatable, Sendable {}

    /// nil while not every participant is known; a complete list needs a plus user.
    public func plan(participantsNumber: Int, participants: [ResolvedParticipant], durationSeconds: Int?) throws(NoPlusUser) -> RoomPlan? {
        guard participants.count >= participantsNumber else { return nil }
        guard participants.contains(where: { $0.role == .plus }) else { throw NoPlusUser() }
        let members = participants.map {
            RoomPlan.Member(bandyerUserId: $0.bandyerUserId, isAdmin: $0.role == .plus, tools: privileges.tools(for: $0.role))
        }
        return RoomPlan(members: members, durationSeconds: durationSeconds, live: live, recording: recording)
    }
}

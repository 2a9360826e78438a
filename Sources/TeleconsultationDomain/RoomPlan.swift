/// What a Bandyer room is made of. Two plans that are equal make the same room, so a
/// change that keeps the plan keeps the room.
public struct RoomPlan: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var bandyerUserId: String
        public var isAdmin: Bool
        /// nil: no `tools` key (every tool on).
        public var tools: ToolSet?

        public init(bandyerUserId: String, isAdmin: Bool, tools: ToolSet?) {
            self.bandyerUserId = bandyerUserId
            self.isAdmin = isAdmin
            self.tools = tools
        }
    }

    public var members: [Member]
    public var durationSeconds: Int?
    public var live: Bool
    public var recording: RecordingType

    public init(members: [Member], durationSeconds: Int?, live: Bool, recording: RecordingType = .none) {
        self.members = members
        self.durationSeconds = durationSeconds
        self.live = live
        self.recording = recording
    }

    /// Same room: same members (in any order), same duration, same live flag and recording.
    public func makesSameRoom(as other: RoomPlan) -> Bool {
        guard durationSeconds == other.durationSeconds, live == other.live, recording == other.recording,
              members.count == other.members.count else { return false }
        let a = members.sorted { $0.bandyerUserId < $1.bandyerUserId }
        let b = other.members.sorted { $0.bandyerUserId < $1.bandyerUserId }
        return a == b
    }

    /// The members a created room gave no personal link (a room with one is useless).
    public func membersWithoutLink(in links: [String: String]) -> [String] {
        members.map(\.bandyerUserId).filter { links[$0] == nil }
    }
}

/// How the provider records a room's calls (`DEFAULT_RECORDING_TYPE`).
public enum RecordingType: String, Sendable, Equatable, CaseIterable {
    case none, automatic, manual
}

import StrictJSON

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

    public init(members: [Member], durationSeconds: Int?, live: Bool) {
        self.members = members
        self.durationSeconds = durationSeconds
        self.live = live
    }

    /// Same room: same members (in any order), same duration, same live flag.
    public func makesSameRoom(as other: RoomPlan) -> Bool {
        guard durationSeconds == other.durationSeconds, live == other.live, members.count == other.members.count else { return false }
        let key: (Member) -> String = { $0.bandyerUserId }
        let a = members.sorted { key($0) < key($1) }
        let b = other.members.sorted { key($0) < key($1) }
        return a == b
    }
}

/// A participant whose Bandyer user and role are known.
public struct ResolvedParticipant: Sendable, Equatable {
    public var externalId: String
    public var bandyerUserId: String
    public var role: Role

    public init(externalId: String, bandyerUserId: String, role: Role) {
        self.externalId = externalId
        self.bandyerUserId = bandyerUserId
        self.role = role
    }
}

public enum RoomPlanner {
    public enum Decision: Sendable, Equatable {
        /// Not every participant is known yet: no room.
        case noRoom
        case room(RoomPlan)
    }

    public struct NoPlusUser: Error, Equatable, Sendable {}

    /// A room exactly when every participant is known, and only with a plus user in it.
    public static func decide(participantsNumber: Int, participants: [ResolvedParticipant], privileges: Privileges,
                              durationSeconds: Int?, live: Bool) throws(NoPlusUser) -> Decision {
        guard participants.count >= participantsNumber else { return .noRoom }
        guard participants.contains(where: { $0.role == .plus }) else { throw NoPlusUser() }
        let members = participants.map {
            RoomPlan.Member(bandyerUserId: $0.bandyerUserId, isAdmin: $0.role == .plus, tools: privileges.tools(for: $0.role))
        }
        return .room(RoomPlan(members: members, durationSeconds: durationSeconds, live: live))
    }
}

/// How to find the caller's id in a request: a path of steps through
/// `{"headers": …, "query": …, "params": …}`.
public enum CallerLocator {
    public enum Step: Sendable, Equatable {
        case object(String)
        case json(String)
        case array(Int)
    }

    /// The caller's id, or nil when a step finds nothing.
    public static func locate(_ steps: [Step], in root: JSONValue) -> String? {
        var current = root
        for step in steps {
            switch step {
            case .object(let key):
                guard let next = current[key] else { return nil }
                current = next
            case .json(let key):
                guard let text = current.stringValue, let parsed = try? JSONParser.parse(text), let next = parsed[key] else { return nil }
                current = next
            case .array(let index):
                guard let list = current.arrayValue, index >= 0, index < list.count else { return nil }
                current = list[index]
            }
        }
        switch current {
        case .string(let s) where !s.isEmpty: return s
        case .number: return current.intValue.map(String.init)
        default: return nil
        }
    }
}

/// What a change does to the Bandyer room, decided from values before any I/O: the room
/// cannot be modified, so it is kept, made, replaced or dropped.
public enum RoomTransition: Sendable, Equatable {
    /// No room before, none needed now.
    case none
    /// The stored room is still right: it stays, with every person's link.
    case keep(roomId: String)
    /// Every participant is known now: make the room.
    case create(RoomPlan)
    /// The room's make-up changed: make the new one, then delete the old one once stored.
    case replace(oldRoomId: String, with: RoomPlan)
    /// A participant is missing now: delete the room once the change is stored.
    case drop(oldRoomId: String)

    /// `oldPlan` is the plan the stored room was made from, with today's roles (nil when it
    /// cannot be known, e.g. a member's identity is gone): an unknown old room is replaced.
    public static func decide(oldRoomId: String?, oldPlan: RoomPlan?, newPlan: RoomPlan?) -> RoomTransition {
        switch (oldRoomId, newPlan) {
        case (nil, nil): return .none
        case (nil, let plan?): return .create(plan)
        case (let old?, nil): return .drop(oldRoomId: old)
        case (let old?, let plan?):
            if let oldPlan, oldPlan.makesSameRoom(as: plan) { return .keep(roomId: old) }
            return .replace(oldRoomId: old, with: plan)
        }
    }

    /// The plan of a room to make, if any.
    public var planToCreate: RoomPlan? {
        switch self {
        case .create(let plan), .replace(_, let plan): return plan
        case .none, .keep, .drop: return nil
        }
    }

    /// The stored room that must go once the change is stored.
    public var roomToDeleteAfterwards: String? {
        switch self {
        case .replace(let old, _), .drop(let old): return old
        case .none, .keep, .create: return nil
        }
    }
}

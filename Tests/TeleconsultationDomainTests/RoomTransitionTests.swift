import Testing
@testable import TeleconsultationDomain

/// The room decision on PATCH and participants/data, as a table: stored room, the plan it
/// was made from, the plan needed now → what happens to the room.
@Suite struct RoomTransitionTests {
    static let a = RoomPlan.Member(bandyerUserId: "A", isAdmin: true, tools: nil)
    static let b = RoomPlan.Member(bandyerUserId: "B", isAdmin: false, tools: nil)
    static let c = RoomPlan.Member(bandyerUserId: "C", isAdmin: false, tools: nil)
    static let ab = RoomPlan(members: [a, b], durationSeconds: nil, live: true)
    static let ba = RoomPlan(members: [b, a], durationSeconds: nil, live: true)
    static let ac = RoomPlan(members: [a, c], durationSeconds: nil, live: true)
    static let ab60 = RoomPlan(members: [a, b], durationSeconds: 60, live: true)
    static let abNotLive = RoomPlan(members: [a, b], durationSeconds: nil, live: false)
    static let abRecorded = RoomPlan(members: [a, b], durationSeconds: nil, live: true, recording: .automatic)
    static let abBothAdmins = RoomPlan(members: [a, .init(bandyerUserId: "B", isAdmin: true, tools: nil)], durationSeconds: nil, live: true)
    static let abWithTools = RoomPlan(members: [a, .init(bandyerUserId: "B", isAdmin: false, tools: ToolSet([("chat", false)]))],
                                      durationSeconds: nil, live: true)

    static let table: [(String, String?, RoomPlan?, RoomPlan?, RoomTransition)] = [
        ("no room, still incomplete", nil, nil, nil, .none),
        ("no room, now complete", nil, nil, ab, .create(ab)),
        ("room, incomplete now", "r1", ab, nil, .drop(oldRoomId: "r1")),
        ("room, same make-up", "r1", ab, ab, .keep(roomId: "r1")),
        ("room, same members in another order", "r1", ab, ba, .keep(roomId: "r1")),
        ("room, another member", "r1", ab, ac, .replace(oldRoomId: "r1", with: ac)),
        ("room, another duration", "r1", ab, ab60, .replace(oldRoomId: "r1", with: ab60)),
        ("room, another live flag", "r1", ab, abNotLive, .replace(oldRoomId: "r1", with: abNotLive)),
        ("room, another recording", "r1", ab, abRecorded, .replace(oldRoomId: "r1", with: abRecorded)),
        ("room, a member now admin", "r1", ab, abBothAdmins, .replace(oldRoomId: "r1", with: abBothAdmins)),
        ("room, other tools", "r1", ab, abWithTools, .replace(oldRoomId: "r1", with: abWithTools)),
        ("room made from an unknown plan", "r1", nil, ab, .replace(oldRoomId: "r1", with: ab)),
        ("room made from an unknown plan, incomplete now", "r1", nil, nil, .drop(oldRoomId: "r1")),
    ]

    @Test(arguments: table.indices)
    func decides(_ row: Int) {
        let (name, room, old, new, expected) = Self.table[row]
        #expect(RoomTransition.decide(oldRoomId: room, oldPlan: old, newPlan: new) == expected, "\(name)")
    }

    @Test func whatEachTransitionMakesAndDeletes() {
        #expect(RoomTransition.none.planToCreate == nil && RoomTransition.none.roomToDeleteAfterwards == nil)
        #expect(RoomTransition.keep(roomId: "r").planToCreate == nil && RoomTransition.keep(roomId: "r").roomToDeleteAfterwards == nil)
        #expect(RoomTransition.create(Self.ab).planToCreate == Self.ab && RoomTransition.create(Self.ab).roomToDeleteAfterwards == nil)
        #expect(RoomTransition.replace(oldRoomId: "r", with: Self.ab).planToCreate == Self.ab)
        #expect(RoomTransition.replace(oldRoomId: "r", with: Self.ab).roomToDeleteAfterwards == "r")
        #expect(RoomTransition.drop(oldRoomId: "r").planToCreate == nil && RoomTransition.drop(oldRoomId: "r").roomToDeleteAfterwards == "r")
    }
}

import StrictJSON
import Testing
@testable import TeleconsultationDomain

func ts(_ s: String) -> Timestamp { Timestamp(iso: s)! }

func teleconsultation(participants: Int, of number: Int, room: String? = nil, start: String = "2026-06-01T10:00:00.000Z") -> Teleconsultation {
    Teleconsultation(id: "0123456789abcdef01234567", startDate: ts(start), endDate: ts("2026-06-01T11:00:00.000Z"),
                     participantsNumber: number,
                     participants: (0..<participants).map { Participant(userExternalId: "u\($0)", userBandyerId: "b\($0)") },
                     bandyerRoomId: room)
}

@Suite struct RoleTests {
    let privileges = Privileges(basic: .init(groups: ["patient", "customer"]),
                                plus: .init(groups: ["doctor"], tools: ToolSet([("chat", true), ("whiteboard", false)])))

    @Test func plusWinsWhenBothMatch() {
        #expect(privileges.role(forGroups: ["patient", "doctor"]) == .plus)
        #expect(privileges.role(forGroups: ["customer"]) == .basic)
        #expect(privileges.role(forGroups: ["nurse"]) == nil)
        #expect(privileges.role(forGroups: []) == nil)
    }

    @Test func toolsFollowTheRole() {
        #expect(privileges.tools(for: .plus)?.json == ["chat": true, "whiteboard": false])
        #expect(privileges.tools(for: .basic) == nil)
    }
}

@Suite struct ScheduleTests {
    let schedule = Schedule(immutablePeriodMilliseconds: 600_000, unlimited: true)

    @Test func immutableOnlyWhenCompleteAndFrozen() {
        let complete = teleconsultation(participants: 2, of: 2, room: "r")
        #expect(!schedule.isImmutable(complete, now: ts("2026-06-01T09:49:59.999Z")))
        #expect(schedule.isImmutable(complete, now: ts("2026-06-01T09:50:00.000Z")))
        let incomplete = teleconsultation(participants: 1, of: 2)
        #expect(!schedule.isImmutable(incomplete, now: ts("2026-06-01T12:00:00.000Z")))
    }

    @Test func linkIsHiddenBeforeImmutablePeriodAndShownAfterEnd() {
        let t = teleconsultation(participants: 2, of: 2, room: "r")
        #expect(!schedule.isLinkVisible(t, now: ts("2026-06-01T09:49:59.999Z")))
        #expect(schedule.isLinkVisible(t, now: ts("2026-06-01T09:50:00.000Z")))
        #expect(schedule.isLinkVisible(t, now: ts("2026-06-02T00:00:00.000Z")))
        #expect(!schedule.isLinkVisible(teleconsultation(participants: 1, of: 2), now: ts("2026-06-02T00:00:00.000Z")))
    }

    @Test func durationUnlimitedOrComputedAndBounded() throws {
        let start = ts("2026-06-01T10:00:00.000Z")
        #expect(try schedule.roomDuration(start: start, end: ts("2026-06-01T10:00:30.000Z")) == nil)
        let limited = Schedule(immutablePeriodMilliseconds: 0, unlimited: false)
        #expect(try limited.roomDuration(start: start, end: ts("2026-06-01T10:01:00.999Z")) == 60)
        #expect(try limited.roomDuration(start: start, end: ts("2026-06-02T10:00:00.000Z")) == 86_400)
        #expect(throws: ValidationError.self) { try limited.roomDuration(start: start, end: ts("2026-06-01T10:00:59.999Z")) }
        #expect(throws: ValidationError.self) { try limited.roomDuration(start: start, end: ts("2026-06-02T10:00:01.000Z")) }
        #expect(throws: ValidationError("body/end_date must be after body/start_date")) { try schedule.roomDuration(start: start, end: start) }
    }
}

@Suite struct RoomPlannerTests {
    let privileges = Privileges(basic: .init(groups: ["patient"], tools: ToolSet([("chat", true)])), plus: .init(groups: ["doctor"]))

    @Test func noRoomUntilEveryParticipantIsKnown() throws {
        let plan = try RoomPlanner(privileges: privileges, live: true)
            .plan(participantsNumber: 3, participants: [.init(externalId: "a", bandyerUserId: "A", role: .basic)], durationSeconds: nil)
        #expect(plan == nil)
    }

    @Test func aCompleteRoomNeedsAPlusUser() {
        #expect(throws: RoomPlanner.NoPlusUser.self) {
            try RoomPlanner(privileges: privileges, live: true)
                .plan(participantsNumber: 2, participants: [.init(externalId: "a", bandyerUserId: "A", role: .basic),
                                                             .init(externalId: "b", bandyerUserId: "B", role: .basic)], durationSeconds: nil)
        }
    }

    @Test func plusIsAdminAndEachRoleGetsItsTools() throws {
        let plan = try RoomPlanner(privileges: privileges, live: false, recording: .manual)
            .plan(participantsNumber: 2, participants: [.init(externalId: "a", bandyerUserId: "A", role: .plus),
                                                         .init(externalId: "b", bandyerUserId: "B", role: .basic)], durationSeconds: 600)
        #expect(plan == RoomPlan(members: [.init(bandyerUserId: "A", isAdmin: true, tools: nil),
                                           .init(bandyerUserId: "B", isAdmin: false, tools: ToolSet([("chat", true)]))],
                                 durationSeconds: 600, live: false, recording: .manual))
    }

    @Test func sameRoomIgnoresMemberOrderButNotFlags() {
        let a = RoomPlan(members: [.init(bandyerUserId: "A", isAdmin: true, tools: nil), .init(bandyerUserId: "B", isAdmin: false, tools: nil)],
                         durationSeconds: nil, live: true)
        var b = a
        b.members.reverse()
        #expect(a.makesSameRoom(as: b))
        b.members[0].isAdmin = true
        #expect(!a.makesSameRoom(as: b))
        var c = a
        c.durationSeconds = 60
        #expect(!a.makesSameRoom(as: c))
    }
}

@Suite struct CallerLocatorTests {
    let root: JSONValue = ["headers": ["miauserid": "u1", "miauserproperties": #"{"ids":["x","y"]}"#], "query": [:], "params": [:]]

    @Test func followsObjectJSONAndArraySteps() {
        #expect(CallerLocator.locate([.object("headers"), .object("miauserid")], in: root) == "u1")
        #expect(CallerLocator.locate([.object("headers"), .object("miauserproperties"), .json("ids"), .array(1)], in: root) == "y")
        // `json` parses the current value, which must be a string.
        #expect(CallerLocator.locate([.object("headers"), .json("miauserproperties")], in: root) == nil)
        #expect(CallerLocator.locate([.object("headers"), .object("miauserproperties"), .json("ids"), .array(2)], in: root) == nil)
    }

    @Test func missingStepMeansNoCaller() {
        #expect(CallerLocator.locate([.object("headers"), .object("other")], in: root) == nil)
        #expect(CallerLocator.locate([.object("query"), .array(0)], in: root) == nil)
    }
}

import Logging
import TeleconsultationPorts
import StrictJSON
import Testing
@testable import TeleconsultationDomain
@testable import TeleconsultationService

struct World {
    let store = InMemoryStore()
    let video = FakeVideo()
    let logs = LogRecorder()
    let clock = ImmediateClock()
    let useCases: Teleconsultations

    init(now: String = "2026-05-01T00:00:00.000Z", unlimited: Bool = true, immutableMs: Int64 = 0, directory: (any UserDirectory)? = nil,
         translator: (any UserIdTranslator)? = nil) {
        let t = Timestamp(iso: now)!
        let privileges = Privileges(basic: .init(groups: ["patient"]), plus: .init(groups: ["doctor"], tools: ToolSet([("chat", true)])))
        let participants: any ParticipantDirectory = directory.map { Auth0Directory(privileges: privileges, users: $0, translator: translator) }
            ?? StandaloneDirectory(privileges: privileges, store: store)
        useCases = Teleconsultations(UseCaseDependencies(
            store: store, video: video, directory: participants,
            planner: RoomPlanner(privileges: privileges, live: true),
            schedule: Schedule(immutablePeriodMilliseconds: immutableMs, unlimited: unlimited),
            retry: ConflictRetry(budget: .seconds(2), clock: clock),
            backgrounds: BackgroundPolicy(groups: ["doctor"]),
            now: { t }), deleteUploads: true)
    }

    var logger: Logger { logs.logger }
    /// A request context whose lines go to `logs`.
    var ctx: UpstreamContext { context(logger) }

    static let start = Timestamp(iso: "2026-06-01T10:00:00.000Z")!
    static let end = Timestamp(iso: "2026-06-01T10:30:00.000Z")!
    static let doctor = ParticipantInput(userExternalId: "doc", groups: ["doctor"], fullName: "Dr D")
    static let patient = ParticipantInput(userExternalId: "pat", groups: ["patient"], fullName: "Pat")

    func create(_ data: [ParticipantInput], number: Int = 2) async throws -> String {
        try await useCases.create.run(TeleconsultationInput(participants: .init(number: number, data: data), startDate: Self.start, endDate: Self.end),
                                      context: ctx)
    }
}

func apiError(_ body: () async throws -> Void) async -> APIError? {
    do { try await body(); return nil } catch { return ErrorMapper.apiError(for: error) }
}

@Suite struct UseCaseTests {
    @Test func createWithAMissingParticipantMakesNoRoomButMapsTheKnownUser() async throws {
        let w = World()
        let id = try await w.create([World.doctor])
        let doc = try #require(w.store.document(id))
        #expect(doc.bandyerRoomId == nil && doc.version == 1 && doc.participants.count == 1)
        #expect(doc.participants[0].userBandyerId == "user1" && doc.participants[0].groups == ["doctor"])
        #expect(w.video.users.map(\.1) == [.plus])
        #expect(w.store.mappingsById.map(\.receivedUserId) == ["doc"])
        #expect(w.video.rooms.isEmpty)
    }

    @Test func createCompleteWithoutPlusIsRefusedAndWritesNothing() async {
        let w = World()
        let other = ParticipantInput(userExternalId: "p2", groups: ["patient"], fullName: "P2")
        let e = await apiError { _ = try await w.create([World.patient, other]) }
        #expect(e == .fixed(.badRequest, "Failed POST /teleconsultation: no plus user in room"))
        #expect(w.store.teleconsultations.isEmpty && w.video.rooms.isEmpty)
    }

    @Test func createCompleteMakesTheRoomWithAdminAndTools() async throws {
        let w = World()
        let id = try await w.create([World.doctor, World.patient])
        let doc = try #require(w.store.document(id))
        let room = try #require(doc.bandyerRoomId)
        let plan = try #require(w.video.rooms[room])
        #expect(plan.members.map(\.isAdmin) == [true, false])
        #expect(plan.members[0].tools == ToolSet([("chat", true)]) && plan.members[1].tools == nil)
        #expect(doc.participants.allSatisfy { $0.accessLinkURL?.hasPrefix("https://v/\(room)/") == true })
        #expect(doc.state == .ready)
    }

    @Test func unknownGroupIsA400NamingTheUser() async {
        let w = World()
        let nurse = ParticipantInput(userExternalId: "n1", groups: ["nurse"], fullName: "N")
        let e = await apiError { _ = try await w.create([nurse]) }
        #expect(e == .badRequest("user n1 has no group allowed in the teleconsultation"))
    }

    @Test func addingTheLastParticipantCreatesTheRoomThenRefusesMore() async throws {
        let w = World()
        let id = try await w.create([World.doctor])
        try await w.useCases.addParticipant.run(roomId: id, World.patient, context: w.ctx)
        let doc = try #require(w.store.document(id))
        #expect(doc.bandyerRoomId != nil && doc.version == 2 && doc.participants.map(\.userExternalId) == ["doc", "pat"])
        let third = ParticipantInput(userExternalId: "x", groups: ["patient"], fullName: "X")
        let e = await apiError { try await w.useCases.addParticipant.run(roomId: id, third, context: w.ctx) }
        #expect(e == .fixed(.conflict, "Teleconsultation \(id) already has all its participants"))
    }

    @Test func addingAKnownParticipantIsAConflict() async throws {
        let w = World()
        let id = try await w.create([World.doctor], number: 3)
        let e = await apiError { try await w.useCases.addParticipant.run(roomId: id, World.doctor, context: w.ctx) }
        #expect(e == .fixed(.conflict, "Participant doc is already in teleconsultation \(id)"))
    }

    @Test func lastParticipantWithoutPlusNamesTheRoute() async throws {
        let w = World()
        let id = try await w.create([World.patient])
        let other = ParticipantInput(userExternalId: "p2", groups: ["patient"], fullName: "P2")
        let e = await apiError { try await w.useCases.addParticipant.run(roomId: id, other, context: w.ctx) }
        #expect(e == .fixed(.badRequest, "Failed POST /teleconsultation/\(id)/participants/data: no plus user in room"))
        #expect(w.store.document(id)?.participants.count == 1)
    }

    @Test func frozenTeleconsultationRefusesChanges() async throws {
        let w = World(now: "2026-06-01T09:55:00.000Z", immutableMs: 600_000)
        let id = try await w.create([World.doctor, World.patient])
        let e = await apiError {
            try await w.useCases.update.run(roomId: id, TeleconsultationInput(endDate: Timestamp(iso: "2026-06-01T11:00:00.000Z")), context: w.ctx)
        }
        #expect(e == .fixed(.conflict, "Teleconsultation \(id) can no longer be changed"))
    }

    @Test func patchThatChangesTheDurationReplacesTheRoomAndKeepsTheId() async throws {
        let w = World(unlimited: false)
        let id = try await w.create([World.doctor, World.patient])
        let oldRoom = try #require(w.store.document(id)?.bandyerRoomId)
        try await w.useCases.update.run(roomId: id, TeleconsultationInput(endDate: Timestamp(iso: "2026-06-01T11:00:00.000Z")), context: w.ctx)
        let doc = try #require(w.store.document(id))
        #expect(doc.bandyerRoomId != oldRoom && doc.bandyerRoomId != nil)
        #expect(w.video.deleted == [oldRoom])
        #expect(w.video.rooms[doc.bandyerRoomId!]?.durationSeconds == 3600)
    }

    @Test func patchThatKeepsTheRoomMakeUpKeepsTheRoom() async throws {
        let w = World()
        let id = try await w.create([World.doctor, World.patient])
        let before = try #require(w.store.document(id))
        try await w.useCases.update.run(roomId: id, TeleconsultationInput(endDate: Timestamp(iso: "2026-06-01T11:00:00.000Z")), context: w.ctx)
        let after = try #require(w.store.document(id))
        #expect(after.bandyerRoomId == before.bandyerRoomId && w.video.deleted.isEmpty)
        #expect(after.participants.map(\.accessLinkURL) == before.participants.map(\.accessLinkURL))
    }

    @Test func patchThatMakesTheListIncompleteDeletesTheRoom() async throws {
        let w = World()
        let id = try await w.create([World.doctor, World.patient])
        let room = try #require(w.store.document(id)?.bandyerRoomId)
        try await w.useCases.update.run(roomId: id, TeleconsultationInput(participants: .init(number: 3, data: [World.doctor, World.patient])),
                                        context: w.ctx)
        let doc = try #require(w.store.document(id))
        #expect(doc.bandyerRoomId == nil && doc.participants.allSatisfy { $0.accessLinkURL == nil })
        #expect(w.video.deleted == [room])
    }

    @Test func linkIsNullBeforeTheWindowAndStrangersAreUnauthorized() async throws {
        let w = World()
        let id = try await w.create([World.doctor, World.patient])
        let info = try await w.useCases.join.run(roomId: id, callerId: "pat", context: w.ctx)
        #expect(info.accessLinkURL == nil)
        #expect(info.bandyerUserId != nil && info.bandyerUserId == w.store.document(id)?.participant(externalId: "pat")?.userBandyerId)
        #expect(info.participants.map(\.fullName) == ["Dr D", "Pat"])
        let e = await apiError { _ = try await w.useCases.join.run(roomId: id, callerId: "eve", context: w.ctx) }
        #expect(e == .fixed(.unauthorized, "Unauthorized user"))
        let e2 = await apiError { _ = try await w.useCases.join.run(roomId: id, callerId: nil, context: w.ctx) }
        #expect(e2 == .fixed(.unauthorized, "Unauthorized user"))
    }

    @Test func linkIsShownOnceTheWindowOpens() async throws {
        let w = World(now: "2026-06-01T09:59:00.000Z", immutableMs: 60_000)
        let id = try await w.create([World.doctor, World.patient])
        let info = try await w.useCases.join.run(roomId: id, callerId: "doc", context: w.ctx)
        #expect(info.accessLinkURL?.hasPrefix("https://v/") == true)
    }

    @Test func deleteTrashesThenDeletesTheRoomAndSurvivesARoomFailure() async throws {
        let w = World()
        let id = try await w.create([World.doctor, World.patient])
        let room = try #require(w.store.document(id)?.bandyerRoomId)
        w.video.failRoomDeletion = true
        try await w.useCases.delete.run(roomId: id, context: w.ctx)
        #expect(w.store.trashed == [id])
        #expect(w.logs.text.contains(#""bandyerRoomId":"\#(room)""#) && w.logs.text.contains(#""level":50"#))
        let e = await apiError { try await w.useCases.delete.run(roomId: id, context: w.ctx) }
        #expect(e == .fixed(.notFound, "Room with id \(id) not found on CRUD"))
    }

    @Test func failedWriteDeletesTheNewRoom() async throws {
        let w = World()
        let id = try await w.create([World.doctor])
        w.store.failUpdates = true
        let e = await apiError { try await w.useCases.addParticipant.run(roomId: id, World.patient, context: w.ctx) }
        #expect(e?.status == .badGateway)
        #expect(w.video.rooms.isEmpty && w.video.deleted.count == 1)
    }

    @Test func oneBandyerUserPerExternalIdUnderConcurrency() async throws {
        let w = World()
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 { group.addTask { try await w.create([World.doctor], number: 3) } }
            for try await _ in group {}
        }
        #expect(w.video.users.count == 1 && w.store.mappingsById.count == 1)
    }

    @Test func basicUserWhoNowNeedsPlusIsUpgradedNeverDowngraded() async throws {
        let w = World()
        _ = try await w.create([ParticipantInput(userExternalId: "u", groups: ["patient"], fullName: "U")], number: 3)
        _ = try await w.create([ParticipantInput(userExternalId: "u", groups: ["doctor"], fullName: "U")], number: 3)
        _ = try await w.create([ParticipantInput(userExternalId: "u", groups: ["patient"], fullName: "U")], number: 3)
        #expect(w.video.users.map(\.1) == [.basic, .plus])
        #expect(w.store.mappingsById.map(\.role) == [.plus])
    }

    @Test func auth0ModeTakesRolesAndNamesFromTheDirectory() async throws {
        let w = World(directory: FakeDirectory(known: [DirectoryUser(userId: "a|1", name: "Doc", groups: ["doctor"]),
                                                       DirectoryUser(userId: "a|2", name: nil, groups: ["patient"])]))
        let id = try await w.useCases.create.run(TeleconsultationInput(participants: .init(number: 2, data: [.init(userExternalId: "a|1"), .init(userExternalId: "a|2")]),
                                                                   startDate: World.start, endDate: World.end), context: w.ctx)
        let doc = try #require(w.store.document(id))
        #expect(doc.bandyerRoomId != nil && doc.participants.allSatisfy { $0.groups == nil && $0.fullName == nil })
        let info = try await w.useCases.join.run(roomId: id, callerId: "a|2", context: w.ctx)
        #expect(info.participants.map(\.fullName) == ["Doc", nil])
        let e = await apiError {
            _ = try await w.useCases.create.run(TeleconsultationInput(participants: .init(number: 2, data: [.init(userExternalId: "a|9")]),
                                                                  startDate: World.start, endDate: World.end), context: w.ctx)
        }
        #expect(e == .badRequest("user a|9 not found on auth0-client"))
    }

    @Test func endlessConflictsEndIn409AfterTheRetryBudgetWithNoRoomLeft() async throws {
        let w = World()
        let id = try await w.create([World.doctor])
        w.store.alwaysConflict = true
        let e = await apiError { try await w.useCases.addParticipant.run(roomId: id, World.patient, context: w.ctx) }
        #expect(e == .fixed(.conflict, "Teleconsultation \(id) was changed concurrently, retry"))
        // The whole budget was spent on the injected clock, in jittered pauses.
        #expect(w.clock.elapsed == .seconds(2) && w.clock.sleeps > 10)
        #expect(w.video.rooms.isEmpty && !w.video.deleted.isEmpty)
    }

    // MARK: defects found by review (issue 10)

    @Test func aRoomWithoutALinkForAParticipantIsDeletedOnTheCompensationPathAndLogged() async throws {
        let w = World()
        w.video.withoutLinks = ["user2"]
        let e = await apiError { _ = try await w.create([World.doctor, World.patient]) }
        #expect(e?.status == .badGateway)
        #expect(w.video.rooms.isEmpty && w.video.deleted.count == 1 && w.store.teleconsultations.isEmpty)
        // When that deletion fails too, the room id is at error level.
        w.video.failRoomDeletion = true
        _ = await apiError { _ = try await w.create([World.doctor, World.patient]) }
        let leaked = try #require(w.video.rooms.keys.first)
        #expect(w.logs.text.contains(#""bandyerRoomId":"\#(leaked)""#) && w.logs.text.contains(#""level":50"#))
    }

    @Test func rolesThenPlusUserThenDuration() async {
        // No plus user and a span far too short: the plus user is named first.
        let w = World(unlimited: false)
        let other = ParticipantInput(userExternalId: "p2", groups: ["patient"], fullName: "P2")
        let short = Timestamp(iso: "2026-06-01T10:00:10.000Z")!
        let e = await apiError {
            _ = try await w.useCases.create.run(TeleconsultationInput(participants: .init(number: 2, data: [World.patient, other]),
                                                                      startDate: World.start, endDate: short), context: w.ctx)
        }
        #expect(e == .fixed(.badRequest, "Failed POST /teleconsultation: no plus user in room"))
        let id = try? await w.create([World.patient])
        let p = await apiError {
            try await w.useCases.update.run(roomId: id ?? "", TeleconsultationInput(participants: .init(number: 2, data: [World.patient, other]), endDate: short),
                                            context: w.ctx)
        }
        #expect(p == .fixed(.badRequest, "Failed PATCH /teleconsultation: no plus user in room"))
        // And a role before either.
        let nurse = ParticipantInput(userExternalId: "n", groups: ["nurse"], fullName: "N")
        let r = await apiError {
            _ = try await w.useCases.create.run(TeleconsultationInput(participants: .init(number: 2, data: [World.patient, nurse]),
                                                                      startDate: World.start, endDate: short), context: w.ctx)
        }
        #expect(r == .badRequest("user n has no group allowed in the teleconsultation"))
    }

    @Test func getAnswersWithoutNamesWhenAuth0ClientIsDown() async throws {
        let users = [DirectoryUser(userId: "a|1", name: "Doc", groups: ["doctor"]), DirectoryUser(userId: "a|2", name: "Pat", groups: ["patient"])]
        let up = World(directory: FakeDirectory(known: users))
        let id = try await up.useCases.create.run(TeleconsultationInput(participants: .init(number: 2, data: [.init(userExternalId: "a|1"), .init(userExternalId: "a|2")]),
                                                                        startDate: World.start, endDate: World.end), context: up.ctx)
        let stored = try #require(up.store.document(id))
        let down = World(directory: FakeDirectory(known: users, down: true))
        down.store.seed(stored)
        let info = try await down.useCases.join.run(roomId: id, callerId: "a|2", context: down.ctx)
        #expect(info.participants.map(\.fullName) == [nil, nil] && info.bandyerUserId != nil)
        #expect(down.logs.text.contains("names could not be fetched") && down.logs.text.contains(#""level":40"#))
    }

    @Test func aNewStartAloneKeepsTheLengthAndDurationInSecondsCountsFromTheStart() async throws {
        let w = World(unlimited: false)
        let id = try await w.create([World.doctor, World.patient])
        let later = Timestamp(iso: "2026-06-02T08:00:00.000Z")!
        try await w.useCases.update.run(roomId: id, TeleconsultationInput(startDate: later), context: w.ctx)
        var doc = try #require(w.store.document(id))
        #expect(doc.startDate == later && doc.endDate == Timestamp(iso: "2026-06-02T08:30:00.000Z"))
        #expect(w.video.rooms[doc.bandyerRoomId ?? ""]?.durationSeconds == 1800)
        try await w.useCases.update.run(roomId: id, TeleconsultationInput(durationSeconds: 600), context: w.ctx)
        doc = try #require(w.store.document(id))
        #expect(doc.startDate == later && doc.endDate == Timestamp(iso: "2026-06-02T08:10:00.000Z"))
        #expect(w.video.rooms[doc.bandyerRoomId ?? ""]?.durationSeconds == 600)
        // An end before the stored start is refused, whatever the body alone says.
        let e = await apiError { try await w.useCases.update.run(roomId: id, TeleconsultationInput(endDate: World.start), context: w.ctx) }
        #expect(e == .badRequest("body/end_date must be after body/start_date"))
    }

    @Test func storedDataWithDuplicatesOrUnknownRolesNeverBringsTheProcessDown() async throws {
        // A stored teleconsultation (data from outside) with the same person twice and a group no longer allowed.
        let w = World()
        let odd = Teleconsultation(id: String(repeating: "b", count: 24), startDate: World.start, endDate: World.end, participantsNumber: 3,
                                   participants: [Participant(userExternalId: "doc", groups: ["doctor"]), Participant(userExternalId: "doc", groups: ["doctor"])],
                                   version: 1)
        w.store.seed(odd)
        let nurse = ParticipantInput(userExternalId: "n", groups: ["nurse"], fullName: "N")
        let e = await apiError { try await w.useCases.addParticipant.run(roomId: odd.id, nurse, context: w.ctx) }
        #expect(e == .badRequest("user n has no group allowed in the teleconsultation"))
        let info = try await w.useCases.join.run(roomId: odd.id, callerId: "doc", context: w.ctx)
        #expect(info.participants.count == 2)
    }
}

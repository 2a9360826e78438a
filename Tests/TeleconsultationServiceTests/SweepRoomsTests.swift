import Synchronization
import Testing
import TeleconsultationPorts
@testable import TeleconsultationDomain
@testable import TeleconsultationService

@Suite struct SweepRoomsTests {
    let store = InMemoryStore()
    let video = FakeVideo()
    static let now = Timestamp(iso: "2026-06-01T12:00:00.000Z")!
    var sweep: SweepRooms { SweepRooms(store: store, video: video, grace: .seconds(3600), now: { Self.now }) }

    func teleconsultation(_ n: Int, room: String?) -> Teleconsultation {
        Teleconsultation(id: String(format: "%024x", n), startDate: Self.now, endDate: Self.now, participantsNumber: 2, participants: [],
                         bandyerRoomId: room, version: 1)
    }

    func hoursAgo(_ h: Int64) -> Timestamp { Timestamp(milliseconds: Self.now.milliseconds - h * 3_600_000) }

    func claim(_ room: String?, at: Timestamp) {
        store.claims.append(RoomClaim(id: String(format: "%024x", 1000 + store.claims.count), teleconsultationId: nil, createdAt: at, roomId: room))
    }

    /// A trashed teleconsultation whose room survived; rooms a PUBLIC and a DRAFT document point
    /// to; a claimed room nobody points to, old and young; an old claim whose creation timed
    /// out; and rooms of another application, old and undated, that no claim names.
    func seedTheProvider() {
        store.seed(teleconsultation(1, room: "trashed-room"), state: .trashed)
        store.seed(teleconsultation(2, room: "live-room"), state: .published)
        store.seed(teleconsultation(3, room: "draft-room"), state: .draft)
        store.seed(teleconsultation(4, room: nil), state: .trashed)
        claim("live-room", at: hoursAgo(5))
        claim("draft-room", at: hoursAgo(5))
        claim("claimed-orphan", at: hoursAgo(2))
        claim(nil, at: hoursAgo(3))
        claim("young-claimed", at: Timestamp(milliseconds: Self.now.milliseconds - 60_000))
        store.claimTime = Self.now
        video.created = ["trashed-room": hoursAgo(5), "live-room": hoursAgo(5), "draft-room": hoursAgo(5),
                         "claimed-orphan": hoursAgo(2), "young-claimed": Self.now,
                         "foreign-old": hoursAgo(48), "foreign-undated": Timestamp(milliseconds: 0)]
    }

    @Test func deletesTrashedRoomsAndClaimedOrphansAndNeverAnUnclaimedRoom() async throws {
        seedTheProvider()
        let summary = await sweep.run(dryRun: false, context: context())
        #expect(summary.trashedRooms == 1 && summary.orphanRooms == 1 && summary.failed == 0 && summary.error == nil)
        #expect(Set(video.deleted) == ["trashed-room", "claimed-orphan"])
        #expect(Set(video.created.keys) == ["live-room", "draft-room", "young-claimed", "foreign-old", "foreign-undated"])
        // The other application's rooms are counted, and the claim without a room reported.
        #expect(summary.unclaimedRooms == 2 && summary.unresolvedClaims == 1)
        // The trashed document no longer names its room; the deleted room's claim is retired.
        #expect(store.teleconsultations[String(format: "%024x", 1)]?.bandyerRoomId == nil)
        #expect(Set(store.liveClaims.compactMap(\.roomId)) == ["live-room", "draft-room", "young-claimed"])
        #expect(summary.json == ["trashedRooms": 1, "orphanRooms": 1, "failed": 0, "unclaimedRooms": 2, "unresolvedClaims": 1])
    }

    @Test func aDryRunListsWithoutWritingAnything() async throws {
        seedTheProvider()
        let summary = await sweep.run(dryRun: true, context: context())
        #expect(summary.trashedRooms == 1 && summary.orphanRooms == 1 && video.deleted.isEmpty)
        // The claim without a room is listed too (with no room to name), in claim order.
        #expect(summary.candidates.map(\.room) == ["trashed-room", "claimed-orphan", ""])
        #expect(store.claimWrites.isEmpty, "a dry run wrote claims: \(store.claimWrites)")
        #expect(store.teleconsultations[String(format: "%024x", 1)]?.bandyerRoomId == "trashed-room")
    }

    @Test func aFailedDeletionIsCountedAndTheRoomIdPutBack() async throws {
        seedTheProvider()
        video.failingRooms = ["trashed-room", "claimed-orphan"]
        let summary = await sweep.run(dryRun: false, context: context())
        #expect(summary.failed == 2 && summary.trashedRooms == 0 && summary.orphanRooms == 0 && summary.isFailure)
        #expect(store.teleconsultations[String(format: "%024x", 1)]?.bandyerRoomId == "trashed-room")
        // The claimed orphan's claim stays for the next run; the trashed room's own claim went
        // once its id was back on the document.
        #expect(store.liveClaims.compactMap(\.roomId).filter { $0 == "claimed-orphan" }.count == 1)
        #expect(!store.liveClaims.contains { $0.roomId == "trashed-room" })
    }

    @Test func aRoomReleasedButNeitherDeletedNorPutBackKeepsAClaimTheNextSweepFinishes() async throws {
        store.seed(teleconsultation(1, room: "trashed-room"), state: .trashed)
        video.created = ["trashed-room": hoursAgo(5)]
        video.failingRooms = ["trashed-room"]
        store.failRestore = true
        store.claimTime = hoursAgo(2)
        let first = await sweep.run(dryRun: false, context: context())
        // Once as a trashed room, once through the claim that now names it.
        #expect(first.failed == 2)
        #expect(store.teleconsultations[String(format: "%024x", 1)]?.bandyerRoomId == nil)
        #expect(store.liveClaims.map(\.roomId) == ["trashed-room"])
        video.failingRooms = []
        let second = await sweep.run(dryRun: false, context: context())
        #expect(second.orphanRooms == 1 && second.failed == 0 && video.deleted == ["trashed-room"])
        #expect(store.liveClaims.isEmpty)
    }

    @Test func withADialectThatCannotListClaimedRoomsStillGoAndNothingIsCounted() async throws {
        seedTheProvider()
        video.canList = false
        let summary = await sweep.run(dryRun: false, context: context())
        #expect(summary.trashedRooms == 1 && summary.orphanRooms == 1 && summary.unclaimedRooms == nil)
        #expect(summary.json == ["trashedRooms": 1, "orphanRooms": 1, "failed": 0, "unclaimedRooms": nil, "unresolvedClaims": 1])
        #expect(video.created["foreign-old"] != nil)
    }

    @Test func aStopRequestIsHonouredBetweenRoomsOnly() async throws {
        seedTheProvider()
        // Stop after the first room: the trashed one goes (released and deleted), nothing else.
        let summary = await sweep.run(dryRun: false, context: context(), shouldStop: { [video] in !video.deleted.isEmpty })
        #expect(summary.stopped && summary.trashedRooms == 1 && summary.orphanRooms == 0 && !summary.isFailure)
        #expect(video.deleted == ["trashed-room"])
        #expect(summary.json["stopped"] == true && summary.json["unclaimedRooms"] == .null)
        // Stopped before anything: nothing released, nothing written.
        let before = store.claimWrites.count
        store.seed(teleconsultation(5, room: "another-trashed"), state: .trashed)
        let none = await sweep.run(dryRun: false, context: context(), shouldStop: { true })
        #expect(none.stopped && store.teleconsultations[String(format: "%024x", 5)]?.bandyerRoomId == "another-trashed")
        #expect(store.claimWrites.count == before)
    }

    @Test func manyTrashedDocumentsAndClaimsAreWalkedInPages() async throws {
        for n in 1...250 { store.seed(teleconsultation(n, room: "r\(n)"), state: .trashed) }
        for n in 1...230 { claim("c\(n)", at: hoursAgo(2)) }
        let summary = await sweep.run(dryRun: false, context: context())
        #expect(summary.trashedRooms == 250 && summary.failed == 0)
        #expect(Set(video.deleted).count == 480)
        #expect(store.liveClaims.isEmpty)
    }

    @Test func anUpstreamFailureIsInTheSummary() async throws {
        seedTheProvider()
        store.failClaims = true
        // The claim insert before a release fails: nothing is released, the sweep says why.
        let summary = await sweep.run(dryRun: false, context: context())
        #expect(summary.isFailure && summary.error?.contains("crud") == true && summary.trashedRooms == 0)
        #expect(store.teleconsultations[String(format: "%024x", 1)]?.bandyerRoomId == "trashed-room")
        #expect(video.deleted.isEmpty)
    }
}

/// Every room is claimed before the provider is asked for it.
@Suite struct RoomClaimTests {
    let store = InMemoryStore()
    let video = FakeVideo()
    var keeper: RoomKeeper { RoomKeeper(video: video, store: store) }
    let plan = RoomPlan(members: [RoomPlan.Member(bandyerUserId: "b1", isAdmin: true, tools: nil), RoomPlan.Member(bandyerUserId: "b2", isAdmin: false, tools: nil)],
                        durationSeconds: nil, live: true, recording: .none)

    @Test func theClaimIsRecordedBeforeTheRoomAndNamesItAfter() async throws {
        let room = try await keeper.create(plan, teleconsultationId: "aaaaaaaaaaaaaaaaaaaaaaaa", context: context())
        #expect(store.claimWrites == ["insert", "room \(room.roomId)"])
        #expect(store.liveClaims.map(\.roomId) == [room.roomId] && store.liveClaims.map(\.teleconsultationId) == ["aaaaaaaaaaaaaaaaaaaaaaaa"])
    }

    @Test func noClaimNoRoom() async throws {
        store.failClaims = true
        await #expect(throws: UpstreamError.self) { try await keeper.create(plan, teleconsultationId: nil, context: context()) }
        #expect(video.rooms.isEmpty)
    }

    @Test func aRefusedCreationRetiresItsClaimAndATimedOutOneKeepsIt() async throws {
        video.createRoomError = UpstreamError(upstream: "bandyer", operation: "create room", kind: .status(400))
        await #expect(throws: UpstreamError.self) { try await keeper.create(plan, teleconsultationId: nil, context: context()) }
        #expect(store.liveClaims.isEmpty && store.claimWrites == ["insert", "retire"])
        // No answer, or one that says nothing: the claim stays, for the sweep to report.
        video.createRoomError = UpstreamError(upstream: "bandyer", operation: "create room", kind: .timeout)
        await #expect(throws: UpstreamError.self) { try await keeper.create(plan, teleconsultationId: nil, context: context()) }
        video.createRoomError = UpstreamError(upstream: "bandyer", operation: "create room", kind: .status(503))
        await #expect(throws: UpstreamError.self) { try await keeper.create(plan, teleconsultationId: nil, context: context()) }
        #expect(store.liveClaims.count == 2 && store.liveClaims.allSatisfy { $0.roomId == nil })
    }
}

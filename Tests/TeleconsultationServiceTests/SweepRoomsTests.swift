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

    func seedTheProvider() {
        store.seed(teleconsultation(1, room: "trashed-room"), state: .trashed)
        store.seed(teleconsultation(2, room: "live-room"), state: .published)
        store.seed(teleconsultation(3, room: "draft-room"), state: .draft)
        store.seed(teleconsultation(4, room: nil), state: .trashed)
        video.created = ["trashed-room": hoursAgo(5), "live-room": hoursAgo(5), "draft-room": hoursAgo(5),
                         "old-orphan": hoursAgo(2), "young-orphan": Timestamp(milliseconds: Self.now.milliseconds - 60_000),
                         "undated-orphan": Timestamp(milliseconds: 0)]
        video.created["undated-orphan"] = nil
    }

    @Test func deletesTrashedRoomsAndOldOrphansAndNothingElse() async throws {
        seedTheProvider()
        let summary = try await sweep.run(dryRun: false, context: context())
        #expect(summary.trashedRooms == 1 && summary.orphanRooms == 1 && summary.failed == 0 && summary.orphansSwept)
        #expect(Set(video.deleted) == ["trashed-room", "old-orphan"])
        #expect(Set(video.created.keys) == ["live-room", "draft-room", "young-orphan"])
        // The trashed document no longer names its room.
        #expect(store.teleconsultations[String(format: "%024x", 1)]?.bandyerRoomId == nil)
    }

    @Test func aDryRunListsWithoutDeleting() async throws {
        seedTheProvider()
        let summary = try await sweep.run(dryRun: true, context: context())
        #expect(summary.trashedRooms == 1 && summary.orphanRooms == 1 && video.deleted.isEmpty)
        #expect(summary.candidates.map(\.room) == ["trashed-room", "old-orphan"])
        #expect(store.teleconsultations[String(format: "%024x", 1)]?.bandyerRoomId == "trashed-room")
    }

    @Test func aFailedDeletionIsCountedAndTheRoomIdPutBack() async throws {
        seedTheProvider()
        video.failingRooms = ["trashed-room", "old-orphan"]
        let summary = try await sweep.run(dryRun: false, context: context())
        #expect(summary.failed == 2 && summary.trashedRooms == 0 && summary.orphanRooms == 0)
        #expect(store.teleconsultations[String(format: "%024x", 1)]?.bandyerRoomId == "trashed-room")
    }

    @Test func withADialectThatCannotListOnlyTrashedRoomsGo() async throws {
        seedTheProvider()
        video.canList = false
        let summary = try await sweep.run(dryRun: false, context: context())
        #expect(summary.trashedRooms == 1 && summary.orphanRooms == 0 && !summary.orphansSwept)
        #expect(summary.json == ["trashedRooms": 1, "orphanRooms": 0, "failed": 0, "orphansSwept": false])
    }

    @Test func manyTrashedDocumentsAreWalkedInPages() async throws {
        for n in 1...250 { store.seed(teleconsultation(n, room: "r\(n)"), state: .trashed) }
        let summary = try await sweep.run(dryRun: false, context: context())
        #expect(summary.trashedRooms == 250 && Set(video.deleted).count == 250)
    }
}

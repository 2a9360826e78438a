import Logging
import StrictJSON
import TeleconsultationDomain
import TeleconsultationPorts

/// `teleconsultation-backend sweep`: leaves the provider clean.
///
/// 1. Trashed teleconsultations that still name a room (a DELETE whose room deletion
///    failed): the room id is taken off the document first (a conditional update only one
///    sweep can win, so two sweeps at once never both delete it), then the room is deleted;
///    a deletion that fails puts the id back, for the next run.
/// 2. Where the provider can list rooms (v2): rooms no teleconsultation in any state points
///    to and older than the grace period (a room creation that timed out but was carried
///    out later) are deleted. A room a PUBLIC or DRAFT document points to is never touched.
public struct SweepRooms: Sendable {
    let store: any TeleconsultationStore
    let video: any VideoProvider
    let grace: Duration
    let now: @Sendable () -> Timestamp
    static let pageSize = 100

    public init(store: any TeleconsultationStore, video: any VideoProvider, grace: Duration, now: @escaping @Sendable () -> Timestamp) {
        self.store = store
        self.video = video
        self.grace = grace
        self.now = now
    }

    public struct Summary: Sendable, Equatable {
        /// Rooms of trashed teleconsultations deleted (or, dry, to delete).
        public var trashedRooms = 0
        /// Rooms nobody points to deleted (or, dry, to delete).
        public var orphanRooms = 0
        /// Rooms that should have gone and did not.
        public var failed = 0
        /// A dry run's findings: the rooms, and why.
        public var candidates: [(room: String, reason: String)] = []
        /// False where the provider cannot list rooms (v1).
        public var orphansSwept = true

        public init() {}

        public static func == (a: Summary, b: Summary) -> Bool {
            a.trashedRooms == b.trashedRooms && a.orphanRooms == b.orphanRooms && a.failed == b.failed && a.orphansSwept == b.orphansSwept
                && a.candidates.map(\.room) == b.candidates.map(\.room)
        }

        public var json: JSONValue {
            var o: JSONObject = ["trashedRooms": .number(Double(trashedRooms)), "orphanRooms": .number(Double(orphanRooms)),
                                 "failed": .number(Double(failed))]
            if !orphansSwept { o["orphansSwept"] = false }
            if !candidates.isEmpty {
                o["candidates"] = .array(candidates.map { ["room": .string($0.room), "reason": .string($0.reason)] })
            }
            return .object(o)
        }
    }

    public func run(dryRun: Bool, context: UpstreamContext) async throws -> Summary {
        var summary = Summary()
        try await sweepTrashed(dryRun: dryRun, into: &summary, context: context)
        try await sweepOrphans(dryRun: dryRun, into: &summary, context: context)
        return summary
    }

    func sweepTrashed(dryRun: Bool, into summary: inout Summary, context: UpstreamContext) async throws {
        // Released documents drop out of the listing; those that failed stay at the front.
        var skip = 0
        for _ in 0..<100_000 {
            let page = try await store.trashedWithRoom(skip: skip, limit: Self.pageSize, context: context)
            if page.isEmpty { return }
            for (id, room) in page {
                if dryRun {
                    summary.candidates.append((room, "trashed teleconsultation \(id)"))
                    summary.trashedRooms += 1
                    skip += 1
                    continue
                }
                guard try await store.releaseRoom(teleconsultationId: id, roomId: room, context: context) else { continue }
                do {
                    try await video.deleteRoom(id: room, context: context)
                    summary.trashedRooms += 1
                    context.logger.info("room of a trashed teleconsultation deleted", metadata: ["bandyerRoomId": .string(room), "teleconsultationId": .string(id)])
                } catch {
                    summary.failed += 1
                    skip += 1
                    context.logger.error("room of a trashed teleconsultation could not be deleted", metadata: [
                        "bandyerRoomId": .string(room), "teleconsultationId": .string(id), "error": .string(String(describing: error)),
                    ])
                    do {
                        try await store.restoreRoom(teleconsultationId: id, roomId: room, context: context)
                    } catch {
                        context.logger.error("room id could not be put back on its trashed teleconsultation", metadata: [
                            "bandyerRoomId": .string(room), "teleconsultationId": .string(id), "error": .string(String(describing: error)),
                        ])
                    }
                }
            }
        }
        throw UpstreamError(upstream: "crud", operation: "find trashed", kind: .invalidResponse("the listing does not end"))
    }

    func sweepOrphans(dryRun: Bool, into summary: inout Summary, context: UpstreamContext) async throws {
        var offset: Int? = 0
        let cutoff = Timestamp(milliseconds: now().milliseconds - Int64(grace.components.seconds * 1000 + grace.components.attoseconds / 1_000_000_000_000_000))
        var pages = 0
        while let at = offset {
            // Bounded, as the trashed listing is: a provider whose listing never ends stops the sweep.
            pages += 1
            if pages > 100_000 { throw UpstreamError(upstream: "bandyer", operation: "list rooms", kind: .invalidResponse("the listing does not end")) }
            guard let page = try await video.rooms(offset: at, limit: Self.pageSize, context: context) else {
                summary.orphansSwept = false
                context.logger.info("this provider dialect cannot list rooms: rooms nobody points to are not swept")
                return
            }
            let old = page.rooms.filter { room in room.createdAt.map { $0 <= cutoff } ?? false }
            let referenced = try await store.referencedRooms(old.map(\.id), context: context)
            var deletedHere = 0
            for room in old where !referenced.contains(room.id) {
                if dryRun {
                    summary.candidates.append((room.id, "no teleconsultation points to it"))
                    summary.orphanRooms += 1
                    continue
                }
                do {
                    // False: another sweep deleted it first.
                    if try await video.deleteRoom(id: room.id, context: context) {
                        summary.orphanRooms += 1
                        deletedHere += 1
                        context.logger.info("room nobody points to deleted", metadata: ["bandyerRoomId": .string(room.id)])
                    }
                } catch {
                    summary.failed += 1
                    context.logger.error("room nobody points to could not be deleted", metadata: [
                        "bandyerRoomId": .string(room.id), "error": .string(String(describing: error)),
                    ])
                }
            }
            // The listing shifts by what was deleted from it.
            offset = page.nextOffset.map { $0 - deletedHere }
        }
    }
}

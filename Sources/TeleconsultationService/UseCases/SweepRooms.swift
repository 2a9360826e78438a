import Logging
import StrictJSON
import TeleconsultationDomain
import TeleconsultationPorts

/// `teleconsultation-backend sweep`: deletes the provider rooms this deployment made and no
/// longer needs, and nothing else.
///
/// 1. Trashed teleconsultations that still name a room (a DELETE whose room deletion
///    failed): a claim naming the room is recorded, the room id is taken off the document
///    (a conditional update only one sweep can win, so two sweeps at once never both delete
///    it), then the room is deleted and the claim retired. A deletion that fails puts the id
///    back, for the next run; a sweep that dies in between leaves the claim, which step 3 of
///    a later run finds.
/// 2. Where the provider can list rooms (v2), every room is listed, to count those no claim of
///    this deployment names (never deleted: another application's, another environment's,
///    or made before claims existed). A listing whose ids are ambiguous stops the sweep here.
/// 3. This deployment's room claims (those of its teleconsultations collection) older than
///    the grace period: a claimed room no teleconsultation in any state points to is deleted
///    and its claim retired; a claim without a room id (a creation that timed out) is
///    reported, never guessed at.
///
/// `shouldStop` is asked between rooms (SIGTERM, the sweep's deadline): a stopped sweep never
/// leaves a room released and undeleted without a claim naming it.
public struct SweepRooms: Sendable {
    let store: any TeleconsultationStore
    let video: any VideoProvider
    let grace: Duration
    let now: @Sendable () -> Timestamp
    static let pageSize = 100
    /// No listing has more pages than this: one that does is taken for a provider or store that misbehaves.
    static let maxPages = 100_000

    public init(store: any TeleconsultationStore, video: any VideoProvider, grace: Duration, now: @escaping @Sendable () -> Timestamp) {
        self.store = store
        self.video = video
        self.grace = grace
        self.now = now
    }

    public struct Summary: Sendable, Equatable {
        /// Rooms of trashed teleconsultations deleted (or, dry, to delete).
        public var trashedRooms = 0
        /// Claimed rooms nobody points to, deleted (or, dry, to delete).
        public var orphanRooms = 0
        /// Rooms that should have gone and did not.
        public var failed = 0
        /// Provider rooms no claim of this deployment names: counted, never deleted. nil where
        /// the provider cannot list rooms (v1), or the sweep stopped before counting.
        public var unclaimedRooms: Int?
        /// Claims older than the grace period with no room id: a room creation that timed out
        /// (the provider may or may not have made it); reported, for an operator.
        public var unresolvedClaims = 0
        /// A dry run's findings: the rooms, and why.
        public var candidates: [(room: String, reason: String)] = []
        /// Stopped between rooms (SIGTERM or the deadline) before the end.
        public var stopped = false
        /// Why the sweep could not go on (an upstream failed, a listing was ambiguous).
        public var error: String?

        public init() {}

        public static func == (a: Summary, b: Summary) -> Bool {
            a.trashedRooms == b.trashedRooms && a.orphanRooms == b.orphanRooms && a.failed == b.failed && a.unclaimedRooms == b.unclaimedRooms
                && a.unresolvedClaims == b.unresolvedClaims && a.stopped == b.stopped && a.error == b.error
                && a.candidates.map(\.room) == b.candidates.map(\.room)
        }

        /// Something that should have gone is still there, or the sweep could not look.
        public var isFailure: Bool { failed > 0 || error != nil }

        public var json: JSONValue {
            var o: JSONObject = ["trashedRooms": .number(Double(trashedRooms)), "orphanRooms": .number(Double(orphanRooms)),
                                 "failed": .number(Double(failed)), "unclaimedRooms": unclaimedRooms.map { .number(Double($0)) } ?? .null,
                                 "unresolvedClaims": .number(Double(unresolvedClaims))]
            if stopped { o["stopped"] = true }
            if let error { o["error"] = .string(error) }
            if !candidates.isEmpty {
                o["candidates"] = .array(candidates.map { ["room": .string($0.room), "reason": .string($0.reason)] })
            }
            return .object(o)
        }
    }

    struct Stopped: Error {}

    /// One sweep; never throws: what went wrong is in the summary.
    public func run(dryRun: Bool, context: UpstreamContext, shouldStop: @escaping @Sendable () -> Bool = { false }) async -> Summary {
        var summary = Summary()
        let checkpoint: () throws -> Void = { if shouldStop() { throw Stopped() } }
        do {
            try await sweepTrashed(dryRun: dryRun, into: &summary, checkpoint: checkpoint, context: context)
            try checkpoint()
            let listed = try await listRooms(context: context)
            let claimed = try await sweepClaims(dryRun: dryRun, into: &summary, checkpoint: checkpoint, context: context)
            summary.unclaimedRooms = listed.map { $0.subtracting(claimed).count }
        } catch is Stopped {
            summary.stopped = true
            context.logger.notice("sweep stopped between rooms before the end")
        } catch {
            summary.error = String(describing: error)
            context.logger.error("sweep stopped: an upstream failed", metadata: ["error": .string(String(describing: error))])
        }
        return summary
    }

    func sweepTrashed(dryRun: Bool, into summary: inout Summary, checkpoint: () throws -> Void, context: UpstreamContext) async throws {
        // Released documents drop out of the listing; those that failed stay at the front.
        var skip = 0
        for _ in 0..<Self.maxPages {
            let page = try await store.trashedWithRoom(skip: skip, limit: Self.pageSize, context: context)
            if page.isEmpty { return }
            for (id, room) in page {
                if dryRun {
                    summary.candidates.append((room, "trashed teleconsultation \(id)"))
                    summary.trashedRooms += 1
                    skip += 1
                    continue
                }
                try checkpoint()
                // The record that outlives this process if it dies between release and deletion.
                let claim = try await store.insertClaimedRoom(room, teleconsultationId: id, context: context)
                guard try await store.releaseRoom(teleconsultationId: id, roomId: room, context: context) else {
                    // Another sweep took it; its own claim covers it.
                    await retire(claim, room: room, context: context)
                    continue
                }
                do {
                    try await video.deleteRoom(id: room, context: context)
                    summary.trashedRooms += 1
                    context.logger.info("room of a trashed teleconsultation deleted", metadata: ["bandyerRoomId": .string(room), "teleconsultationId": .string(id)])
                    await retire(claim, room: room, context: context)
                } catch {
                    summary.failed += 1
                    skip += 1
                    context.logger.error("room of a trashed teleconsultation could not be deleted", metadata: [
                        "bandyerRoomId": .string(room), "teleconsultationId": .string(id), "error": .string(String(describing: error)),
                    ])
                    do {
                        try await store.restoreRoom(teleconsultationId: id, roomId: room, context: context)
                        await retire(claim, room: room, context: context)
                    } catch {
                        // The claim stays: a later sweep deletes the room through it.
                        context.logger.error("room id could not be put back on its trashed teleconsultation; its claim stays", metadata: [
                            "bandyerRoomId": .string(room), "teleconsultationId": .string(id), "error": .string(String(describing: error)),
                        ])
                    }
                }
            }
        }
        throw UpstreamError(upstream: "crud", operation: "find trashed", kind: .invalidResponse("the listing does not end"))
    }

    /// Every room the provider lists (every page); nil where it cannot list rooms.
    func listRooms(context: UpstreamContext) async throws -> Set<String>? {
        var listed = Set<String>()
        var offset: Int? = 0
        var pages = 0
        while let at = offset {
            pages += 1
            if pages > Self.maxPages { throw UpstreamError(upstream: "bandyer", operation: "list rooms", kind: .invalidResponse("the listing does not end")) }
            guard let page = try await video.rooms(offset: at, limit: Self.pageSize, context: context) else {
                context.logger.info("this provider dialect cannot list rooms: rooms without a claim are not counted")
                return nil
            }
            for room in page.rooms { listed.insert(room.id) }
            offset = page.nextOffset
        }
        return listed
    }

    /// Step 3; returns the room ids every claim of this deployment names.
    func sweepClaims(dryRun: Bool, into summary: inout Summary, checkpoint: () throws -> Void, context: UpstreamContext) async throws -> Set<String> {
        let cutoff = now().milliseconds - Int64(grace.components.seconds * 1000 + grace.components.attoseconds / 1_000_000_000_000_000)
        var claimed = Set<String>()
        // Retired claims drop out of the listing; the others are skipped.
        var skip = 0
        for _ in 0..<Self.maxPages {
            let page = try await store.roomClaims(skip: skip, limit: Self.pageSize, context: context)
            if page.isEmpty { return claimed }
            let old = page.filter { ($0.createdAt?.milliseconds).map { $0 <= cutoff } ?? false }
            let rooms = old.compactMap(\.roomId).filter(Identifiers.isProviderId)
            let referenced = try await store.referencedRooms(rooms, context: context)
            for claim in page {
                if let room = claim.roomId { claimed.insert(room) }
                guard old.contains(claim) else { skip += 1; continue }
                guard let room = claim.roomId, Identifiers.isProviderId(room) else {
                    summary.unresolvedClaims += 1
                    skip += 1
                    if dryRun { summary.candidates.append((claim.roomId ?? "", "claim \(claim.id) names no room: a creation that timed out; reported, not deleted")) }
                    context.logger.warning("room claim without a room id: the provider may hold a room this deployment cannot name", metadata: [
                        "roomClaimId": .string(claim.id), "teleconsultationId": claim.teleconsultationId.map { .string($0) } ?? "none",
                    ])
                    continue
                }
                if referenced.contains(room) { skip += 1; continue }
                if dryRun {
                    summary.candidates.append((room, "claimed by this deployment, no teleconsultation points to it"))
                    summary.orphanRooms += 1
                    skip += 1
                    continue
                }
                try checkpoint()
                do {
                    // False: gone already (deleted by the service, or by another sweep first).
                    if try await video.deleteRoom(id: room, context: context) {
                        summary.orphanRooms += 1
                        context.logger.info("claimed room nobody points to deleted", metadata: ["bandyerRoomId": .string(room), "roomClaimId": .string(claim.id)])
                    }
                } catch {
                    summary.failed += 1
                    skip += 1
                    context.logger.error("claimed room nobody points to could not be deleted", metadata: [
                        "bandyerRoomId": .string(room), "roomClaimId": .string(claim.id), "error": .string(String(describing: error)),
                    ])
                    continue
                }
                if await !retire(claim.id, room: room, context: context) { skip += 1 }
            }
        }
        throw UpstreamError(upstream: "crud", operation: "find room claims", kind: .invalidResponse("the listing does not end"))
    }

    /// Retires a claim whose room is gone; false (logged) when the store refused: a later run retires it.
    @discardableResult
    func retire(_ claim: String, room: String, context: UpstreamContext) async -> Bool {
        do {
            try await store.retireRoomClaim(id: claim, context: context)
            return true
        } catch {
            context.logger.warning("room claim could not be retired", metadata: [
                "roomClaimId": .string(claim), "bandyerRoomId": .string(room), "error": .string(String(describing: error)),
            ])
            return false
        }
    }
}

import Logging
import TeleconsultationDomain
import TeleconsultationPorts

/// Makes and deletes Bandyer rooms, with the one compensation path: a room that must go
/// again is deleted under the request's compensation deadline, and a deletion that fails
/// is logged at error level with the room id (Bandyer then holds a room nobody points to).
///
/// Every room is claimed in the CRUD service before the provider is asked for it, and the
/// claim gets the room id as soon as it is known: the sweep deletes only rooms this
/// deployment's claims name, never another application's.
public struct RoomKeeper: Sendable {
    let video: any VideoProvider
    let store: any TeleconsultationStore

    public init(video: any VideoProvider, store: any TeleconsultationStore) {
        self.video = video
        self.store = store
    }

    /// Makes the room `plan` describes, for `teleconsultationId` (nil while it has no id yet).
    /// A creation that times out may still be carried out by the provider: its claim stays
    /// without a room id, and the sweep reports it. A room without a link for one of its
    /// members is useless: it is deleted and the answer is a 502.
    public func create(_ plan: RoomPlan, teleconsultationId: String?, context: UpstreamContext) async throws -> CreatedRoom {
        let claim = try await store.insertRoomClaim(teleconsultationId: teleconsultationId, context: context)
        let room: CreatedRoom
        do {
            room = try await video.createRoom(plan, context: context)
        } catch let error as UpstreamError {
            if case .status(let status) = error.kind, (400..<500).contains(status) {
                // The provider refused: there is no room, so the claim has nothing to name.
                await retire(claim, context: context)
            } else {
                // No answer, a broken one or a 5xx: a room may exist that nobody can name.
                context.logger.error("Bandyer room creation failed without a refusal: a room may exist that no teleconsultation points to", metadata: [
                    "roomClaimId": .string(claim), "error": .string(error.description),
                    "bandyerUserIds": .array(plan.members.map { .string($0.bandyerUserId) }),
                ])
            }
            throw error
        }
        do {
            try await store.recordClaimedRoom(claimId: claim, roomId: room.roomId, context: context)
        } catch {
            // Not recorded, the room would be one the sweep cannot know: it goes again.
            await delete(room.roomId, reason: "its claim could not be recorded", context: context)
            throw error
        }
        let missing = plan.membersWithoutLink(in: room.links)
        if !missing.isEmpty {
            await delete(room.roomId, reason: "no link for a participant", context: context)
            throw UpstreamError(upstream: "bandyer", operation: "create room", kind: .invalidResponse("no link for \(missing.count) participant(s)"))
        }
        return room
    }

    /// Retires a claim that names no room, without failing the request (a claim left behind
    /// is only reported by the sweep).
    func retire(_ claim: String, context: UpstreamContext) async {
        do {
            try await store.retireRoomClaim(id: claim, context: context.compensating)
        } catch {
            context.logger.warning("room claim could not be retired", metadata: ["roomClaimId": .string(claim), "error": .string(String(describing: error))])
        }
    }

    /// Deletes a room without failing the request.
    public func delete(_ roomId: String, reason: String, context: UpstreamContext) async {
        do {
            try await video.deleteRoom(id: roomId, context: context.compensating)
        } catch {
            context.logger.error("Bandyer room deletion failed", metadata: [
                "bandyerRoomId": .string(roomId), "reason": .string(reason), "error": .string(String(describing: error)),
            ])
        }
    }
}

import Logging
import TeleconsultationDomain
import TeleconsultationPorts

/// Makes and deletes Bandyer rooms, with the one compensation path: a room that must go
/// again is deleted under the request's compensation deadline, and a deletion that fails
/// is logged at error level with the room id (Bandyer then holds a room nobody points to).
public struct RoomKeeper: Sendable {
    let video: any VideoProvider

    public init(video: any VideoProvider) {
        self.video = video
    }

    /// Makes the room `plan` describes. A creation that times out may still be carried out
    /// by the provider: that is logged with the users, for the sweep or an operator. A room
    /// without a link for one of its members is useless: it is deleted and the answer is a 502.
    public func create(_ plan: RoomPlan, context: UpstreamContext) async throws -> CreatedRoom {
        let room: CreatedRoom
        do {
            room = try await video.createRoom(plan, context: context)
        } catch let error as UpstreamError where error.isTimeout {
            context.logger.error("Bandyer room creation timed out: a room may exist that no teleconsultation points to",
                                 metadata: ["bandyerUserIds": .array(plan.members.map { .string($0.bandyerUserId) })])
            throw error
        }
        let missing = plan.membersWithoutLink(in: room.links)
        if !missing.isEmpty {
            await delete(room.roomId, reason: "no link for a participant", context: context)
            throw UpstreamError(upstream: "bandyer", operation: "create room", kind: .invalidResponse("no link for \(missing.count) participant(s)"))
        }
        return room
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

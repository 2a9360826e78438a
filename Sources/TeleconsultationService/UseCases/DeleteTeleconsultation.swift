import TeleconsultationDomain
import TeleconsultationPorts

/// DELETE /teleconsultation/:roomId: trash first (gone for its users), then the room.
public struct DeleteTeleconsultation: Sendable {
    let deps: UseCaseDependencies
    let uploads: DeleteUploads

    public init(_ deps: UseCaseDependencies, uploads: DeleteUploads) {
        self.deps = deps
        self.uploads = uploads
    }

    public func run(roomId: String, context: UpstreamContext) async throws {
        let document = try await deps.read(roomId, context: context)
        guard try await deps.store.trash(id: roomId, context: context) else { throw TeleconsultationError.notFound(roomId: roomId) }
        if let room = document.bandyerRoomId {
            // No patient files left behind: the uploads go first (best effort, logged).
            if uploads.enabled {
                do {
                    let cleanup = try await uploads.cleanUp(room: room, context: context)
                    if cleanup.deleted < cleanup.total {
                        context.logger.warning("some uploads were not deleted", metadata: [
                            "bandyerRoomId": .string(room), "total": .stringConvertible(cleanup.total), "deleted": .stringConvertible(cleanup.deleted),
                        ])
                    }
                } catch {
                    context.logger.warning("the room's uploads could not be listed", metadata: [
                        "bandyerRoomId": .string(room), "error": .string(String(describing: error)),
                    ])
                }
            }
            // A failure is logged; the trashed document keeps the room id for the sweep.
            await deps.rooms.delete(room, reason: "teleconsultation deleted", context: context)
        }
    }
}

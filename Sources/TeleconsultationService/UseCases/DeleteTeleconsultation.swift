import TeleconsultationDomain
import TeleconsultationPorts

/// DELETE /teleconsultation/:roomId: trash first (gone for its users), then the room.
public struct DeleteTeleconsultation: Sendable {
    let deps: UseCaseDependencies

    public init(_ deps: UseCaseDependencies) { self.deps = deps }

    public func run(roomId: String, context: UpstreamContext) async throws {
        let document = try await deps.read(roomId, context: context)
        guard try await deps.store.trash(id: roomId, context: context) else { throw TeleconsultationError.notFound(roomId: roomId) }
        if let room = document.bandyerRoomId {
            // A failure is logged; the trashed document keeps the room id for the sweep.
            await deps.rooms.delete(room, reason: "teleconsultation deleted", context: context)
        }
    }
}

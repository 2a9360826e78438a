import TeleconsultationDomain

/// The video provider (Bandyer / Kaleyra Video).
public protocol VideoProvider: Sendable {
    func createUser(role: Role, context: UpstreamContext) async throws -> String
    /// The room as the provider made it. Links may be missing: the caller checks that each
    /// member has one (a room without them is deleted on the one compensation path).
    func createRoom(_ plan: RoomPlan, context: UpstreamContext) async throws -> CreatedRoom
    /// Succeeds when the room is already gone.
    func deleteRoom(id: String, context: UpstreamContext) async throws
}

/// A room as the provider made it.
public struct CreatedRoom: Sendable, Equatable {
    public var roomId: String
    /// Bandyer user id → personal link.
    public var links: [String: String]
    public init(roomId: String, links: [String: String]) {
        self.roomId = roomId
        self.links = links
    }
}

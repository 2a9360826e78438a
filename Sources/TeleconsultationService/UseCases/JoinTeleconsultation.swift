import TeleconsultationDomain
import TeleconsultationPorts

/// GET /teleconsultation/:roomId: the caller's Bandyer id and personal link (once the join
/// window is open, opened as the query asks), who else takes part, and on request what the
/// provider says about the room.
public struct JoinTeleconsultation: Sendable {
    let deps: UseCaseDependencies

    public init(_ deps: UseCaseDependencies) { self.deps = deps }

    public struct JoinInfo: Sendable, Equatable {
        public struct Member: Sendable, Equatable {
            public var bandyerUserId: String?
            public var fullName: String?
        }
        public var bandyerUserId: String?
        public var accessLinkURL: String?
        public var participants: [Member]
        /// Asked for (`details=true`): the room's details, nil while there is no room.
        public var details: RoomDetails??
        /// When the link opens, and why there is none yet.
        public var window: JoinWindow
        /// The room the link opens (the audit trail records a link per room).
        public var bandyerRoomId: String?
    }

    public func run(roomId: String, callerId: String?, query: JoinQuery = JoinQuery(), context: UpstreamContext) async throws -> JoinInfo {
        let document = try await deps.read(roomId, context: context)
        guard let callerId, let caller = document.participant(externalId: callerId) else { throw TeleconsultationError.unauthorized }
        // The names and the room's details do not depend on each other.
        async let asked: RoomDetails?? = query.details ? .some(try await details(of: document, context: context)) : .none
        let profiles = await deps.directory.profiles(of: document.participants, context: context)
        let window = JoinWindow(document, schedule: deps.schedule, now: deps.now())
        var link = window.isOpen ? caller.accessLinkURL : nil
        if let l = link {
            let groups = profiles[callerId]?.groups ?? caller.groups ?? []
            link = JoinLink.decorate(l, language: query.language, background: query.useBackground && deps.backgrounds.allows(groups: groups))
        }
        return JoinInfo(bandyerUserId: caller.userBandyerId, accessLinkURL: link,
                        participants: document.participants.map { .init(bandyerUserId: $0.userBandyerId, fullName: profiles[$0.userExternalId]?.name) },
                        details: try await asked, window: window, bandyerRoomId: document.bandyerRoomId)
    }

    func details(of document: Teleconsultation, context: UpstreamContext) async throws -> RoomDetails? {
        guard let room = document.bandyerRoomId else { return nil }
        guard let details = try await deps.video.roomDetails(id: room, context: context) else {
            context.logger.warning("the teleconsultation's room is gone at the provider", metadata: ["bandyerRoomId": .string(room)])
            return nil
        }
        return details
    }
}

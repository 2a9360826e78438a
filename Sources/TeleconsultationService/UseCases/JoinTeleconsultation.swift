import TeleconsultationDomain
import TeleconsultationPorts

/// GET /teleconsultation/:roomId: the caller's Bandyer id and personal link (once the join
/// window is open), and who else takes part.
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
    }

    public func run(roomId: String, callerId: String?, context: UpstreamContext) async throws -> JoinInfo {
        let document = try await deps.read(roomId, context: context)
        guard let callerId, let caller = document.participant(externalId: callerId) else { throw TeleconsultationError.unauthorized }
        let names = await deps.directory.names(of: document.participants, context: context)
        let link = deps.schedule.isLinkVisible(document, now: deps.now()) ? caller.accessLinkURL : nil
        return JoinInfo(bandyerUserId: caller.userBandyerId, accessLinkURL: link,
                        participants: document.participants.map { .init(bandyerUserId: $0.userBandyerId, fullName: names[$0.userExternalId]) })
    }
}

import TeleconsultationDomain
import TeleconsultationPorts

/// POST /credentials: an SDK access token for the calling user (mobile apps). The caller's
/// Bandyer user is resolved as a participant's would be (created in auth0 mode when needed;
/// in standalone mode it must exist already).
public struct IssueCredentials: Sendable {
    let deps: UseCaseDependencies

    public init(_ deps: UseCaseDependencies) { self.deps = deps }

    public struct Credentials: Sendable, Equatable {
        public var accessToken: String
        public var expiresAt: Timestamp
        public var bandyerUserId: String
    }

    public func run(callerId: String?, expiresIn: Int, context: UpstreamContext) async throws -> Credentials {
        guard let callerId, let identity = try await deps.directory.caller(callerId, context: context) else {
            throw TeleconsultationError.unauthorized
        }
        let bandyerId = try await deps.users.resolve(externalId: callerId, role: identity.role, context: context)
        let issued = try await deps.video.sdkCredentials(userId: bandyerId, expiresIn: expiresIn, context: context)
        return Credentials(accessToken: issued.accessToken, expiresAt: issued.expiresAt ?? deps.now().adding(seconds: expiresIn),
                           bandyerUserId: bandyerId)
    }
}

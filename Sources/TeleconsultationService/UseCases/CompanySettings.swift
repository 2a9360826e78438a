import TeleconsultationDomain
import TeleconsultationPorts

/// POST /settings/background-image and PATCH /settings/update: the company-wide look of the
/// calls, for plus callers only.
public struct CompanySettings: Sendable {
    let deps: UseCaseDependencies

    public init(_ deps: UseCaseDependencies) { self.deps = deps }

    /// `image` reads the upload from the body: only once the caller is known to be a plus
    /// user, so an unauthorised upload costs no parsing.
    public func uploadBackground(callerId: String?, image: () throws -> BackgroundImage, context: UpstreamContext) async throws -> VirtualBackground {
        try await requirePlus(callerId, context: context)
        return try await deps.video.uploadVirtualBackground(try image(), context: context)
    }

    public func update(callerId: String?, backgroundAlias: String, context: UpstreamContext) async throws -> Company {
        try await requirePlus(callerId, context: context)
        guard let company = try await deps.video.updateCompany(backgroundAlias: backgroundAlias, context: context) else {
            throw ValidationError("body/background_alias must be a background the provider knows")
        }
        return company
    }

    func requirePlus(_ callerId: String?, context: UpstreamContext) async throws {
        guard let callerId, let identity = try await deps.directory.caller(callerId, context: context), identity.role == .plus else {
            throw TeleconsultationError.unauthorized
        }
    }
}

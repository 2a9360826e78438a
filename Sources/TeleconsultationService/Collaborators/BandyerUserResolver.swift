import TeleconsultationDomain
import TeleconsultationPorts

/// Translates an external user id into a Bandyer user id, creating the Bandyer user the
/// first time: once per id in this process (a keyed lock), and across processes the
/// oldest map entry wins (re-read after insert).
public struct BandyerUserResolver: Sendable {
    let store: any TeleconsultationStore
    let video: any VideoProvider
    let locks = KeyedLock()

    public init(store: any TeleconsultationStore, video: any VideoProvider) {
        self.store = store
        self.video = video
    }

    public func resolve(externalId: String, role: Role, context: UpstreamContext) async throws -> String {
        try await locks.withLock(externalId) {
            var inserted = false
            for _ in 0..<3 {
                let existing = try await store.mappings(externalId: externalId, context: context)
                if let oldest = existing.first {
                    if oldest.role >= role { return oldest.bandyerId }
                    // A basic user who now needs plus gets a new plus user; plus is never downgraded.
                    let id = try await video.createUser(role: .plus, context: context)
                    try await store.repoint(oldest, bandyerId: id, role: .plus, context: context)
                    return id
                }
                if inserted { break }
                let id = try await video.createUser(role: role, context: context)
                try await store.insertMapping(externalId: externalId, bandyerId: id, role: role, context: context)
                inserted = true
            }
            throw UpstreamError(upstream: "crud", operation: "user map re-read", kind: .invalidResponse("inserted entry not found"))
        }
    }

    /// Bandyer ids for every participant, in order, concurrently. Ids already stored are
    /// trusted for basic participants; plus ones go through the map (it may upgrade them).
    public func resolveAll(_ participants: [Participant], identities: [String: Identity],
                           context: UpstreamContext) async throws -> [ResolvedParticipant] {
        var roles: [Role] = []
        for p in participants {
            guard let role = identities[p.userExternalId]?.role else { throw TeleconsultationError.noAllowedGroup(userId: p.userExternalId) }
            roles.append(role)
        }
        return try await withThrowingTaskGroup(of: (Int, ResolvedParticipant).self) { group in
            for (i, p) in participants.enumerated() {
                let id = p.userExternalId, role = roles[i]
                if role == .basic, let known = p.userBandyerId {
                    group.addTask { (i, ResolvedParticipant(externalId: id, bandyerUserId: known, role: role)) }
                    continue
                }
                group.addTask {
                    let b = try await resolve(externalId: id, role: role, context: context)
                    return (i, ResolvedParticipant(externalId: id, bandyerUserId: b, role: role))
                }
            }
            var out = [ResolvedParticipant?](repeating: nil, count: participants.count)
            for try await (i, r) in group { out[i] = r }
            return out.compactMap { $0 }
        }
    }
}

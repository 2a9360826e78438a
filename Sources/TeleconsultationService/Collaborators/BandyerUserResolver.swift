import TeleconsultationDomain

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
                    try await store.repointMapping(id: oldest.id, bandyerId: id, role: .plus, context: context)
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
}

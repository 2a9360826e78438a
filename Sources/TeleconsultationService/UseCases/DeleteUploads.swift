import TeleconsultationDomain
import TeleconsultationPorts

/// DELETE /teleconsultation/:roomId/uploads: the files shared during the call, deleted at the
/// provider (`TELECONSULTATION_DELETE_UPLOADS`).
public struct DeleteUploads: Sendable {
    let deps: UseCaseDependencies
    /// Off by default: the route then answers 204 and calls nobody.
    public let enabled: Bool
    static let parallelDeletions = 4

    public init(_ deps: UseCaseDependencies, enabled: Bool) {
        self.deps = deps
        self.enabled = enabled
    }

    public struct Cleanup: Sendable, Equatable {
        public var total: Int
        public var deleted: Int
    }

    public func run(roomId: String, callerId: String?, context: UpstreamContext) async throws -> Cleanup {
        let document = try await deps.read(roomId, context: context)
        guard let callerId, document.participant(externalId: callerId) != nil else { throw TeleconsultationError.unauthorized }
        guard let room = document.bandyerRoomId else { return Cleanup(total: 0, deleted: 0) }
        return try await cleanUp(room: room, context: context)
    }

    /// Every upload of `room`, deleted at most four at a time; a failed deletion is counted
    /// out and logged with its key. A listing that fails is the caller's to report.
    func cleanUp(room: String, context: UpstreamContext) async throws -> Cleanup {
        let keys = try await deps.video.uploads(roomId: room, context: context)
        let deleted = await withTaskGroup(of: Bool.self) { group in
            var pending = keys[...]
            var count = 0
            func next() {
                guard let key = pending.popFirst() else { return }
                group.addTask {
                    do {
                        try await deps.video.deleteUpload(key: key, context: context)
                        return true
                    } catch {
                        context.logger.warning("upload deletion failed", metadata: [
                            "key": .string(key), "bandyerRoomId": .string(room), "error": .string(String(describing: error)),
                        ])
                        return false
                    }
                }
            }
            for _ in 0..<Self.parallelDeletions { next() }
            for await ok in group {
                if ok { count += 1 }
                next()
            }
            return count
        }
        return Cleanup(total: keys.count, deleted: deleted)
    }
}

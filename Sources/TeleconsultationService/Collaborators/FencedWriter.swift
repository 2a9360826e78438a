import TeleconsultationDomain
import TeleconsultationPorts

/// Writes that may time out and still land later, made safe to undo.
///
/// A conditional replace (`version` must still be the one read) that timed out is fenced
/// by bumping `version` under the same condition: if the fence applies, the late write can
/// no longer match; if it does not, the version had moved, and a re-read tells whether it
/// was ours. A new teleconsultation is inserted as a draft (invisible) and then published;
/// a publish that failed is fenced by trashing the draft (TRASH → PUBLIC is refused).
public struct FencedWriter: Sendable {
    let store: any TeleconsultationStore

    public init(store: any TeleconsultationStore) {
        self.store = store
    }

    public enum Outcome: Sendable {
        /// Stored.
        case applied
        /// Another change came first: nothing was written.
        case conflict
        /// Not stored, and it never will be (it failed, or it timed out and was fenced).
        case failed(any Error)
        /// Timed out and could not be fenced: it may still land.
        case unknown(any Error)
    }

    /// Replaces `current` by `next` (whose version is `current`'s plus one) if nobody changed it meanwhile.
    public func replace(_ current: Teleconsultation, with next: Teleconsultation, context: UpstreamContext) async -> Outcome {
        do {
            return try await store.replace(next, ifVersion: current.version, context: context) ? .applied : .conflict
        } catch let error as UpstreamError where error.isTimeout {
            let undo = context.compensating
            let fence = current.nextVersion
            let fenced: Bool
            do {
                fenced = try await store.replace(fence, ifVersion: current.version, context: undo)
            } catch {
                return .unknown(error)
            }
            if fenced { return .failed(error) }
            // The version had moved already: was it this write?
            if let stored = try? await store.read(id: current.id, context: undo), stored.version == next.version,
               stored.bandyerRoomId == next.bandyerRoomId,
               stored.participants.map(\.userExternalId) == next.participants.map(\.userExternalId) {
                return .applied
            }
            return .failed(error)
        } catch {
            return .failed(error)
        }
    }

    public enum InsertOutcome: Sendable {
        case published(id: String)
        /// Nothing visible was left behind.
        case failed(any Error)
        /// The draft may have been published although the request failed.
        case unknown(id: String, any Error)
    }

    /// Inserts `teleconsultation` as a draft, then publishes it.
    public func insert(_ teleconsultation: Teleconsultation, context: UpstreamContext) async -> InsertOutcome {
        let id: String
        do {
            // A draft that lands after a timeout stays invisible to every read.
            id = try await store.insertDraft(teleconsultation, context: context)
        } catch {
            return .failed(error)
        }
        do {
            guard try await store.publish(id: id, context: context) else {
                return .failed(UpstreamError(upstream: "crud", operation: "publish", kind: .invalidResponse("the new draft is gone")))
            }
            return .published(id: id)
        } catch {
            if (try? await store.trash(id: id, context: context.compensating)) == true { return .failed(error) }
            return .unknown(id: id, error)
        }
    }
}

/// When a participant's personal link can be had, and why not yet: what a waiting room reads
/// to know whether to wait, and how long (GET's `accessOpensAt`, `scheduledEndAt`,
/// `accessLinkReason` and `Retry-After`). A pure function of the teleconsultation and `now`.
public struct JoinWindow: Sendable, Equatable {
    /// Why there is no link, first match wins.
    public enum Reason: String, Sendable, Equatable {
        /// Now is before `opensAt`.
        case tooEarly = "too_early"
        /// The room waits for participants' data.
        case participantsMissing = "participants_missing"
        /// Any other reason the room does not exist.
        case roomUnavailable = "room_unavailable"
    }

    /// From when the link can be non-null: the start less the immutable period.
    public var opensAt: Timestamp
    /// The teleconsultation's end: informational only, the link stays available after it.
    public var scheduledEndAt: Timestamp
    /// nil: the link is there.
    public var reason: Reason?
    /// Seconds a waiting room should wait before asking again; nil when the link is there.
    public var retryAfterSeconds: Int?

    /// The longest and shortest waits a `too_early` answer asks for, and the wait for the others.
    public static let maximumRetryAfter = 60
    public static let minimumRetryAfter = 1
    public static let otherRetryAfter = 5

    public init(_ t: Teleconsultation, schedule: Schedule, now: Timestamp) {
        opensAt = schedule.freezeTime(startDate: t.startDate)
        scheduledEndAt = t.endDate
        if now < opensAt {
            reason = .tooEarly
            let waitMs = opensAt.milliseconds - now.milliseconds
            let seconds = (waitMs + 999) / 1000
            retryAfterSeconds = Int(min(max(seconds, Int64(Self.minimumRetryAfter)), Int64(Self.maximumRetryAfter)))
        } else if t.bandyerRoomId != nil {
            reason = nil
            retryAfterSeconds = nil
        } else {
            reason = t.isComplete ? .roomUnavailable : .participantsMissing
            retryAfterSeconds = Self.otherRetryAfter
        }
    }

    /// Whether a personal link is shown now.
    public var isOpen: Bool { reason == nil }
}

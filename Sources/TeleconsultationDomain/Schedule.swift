/// Time rules of a teleconsultation: pure functions of the document and `now`.
public struct Schedule: Sendable, Equatable {
    /// `IMMUTABLE_PERIOD_MS`: how long before the start the teleconsultation freezes.
    public var immutablePeriodMilliseconds: Int64
    /// `UNLIMITED_TELECONSULTATION`.
    public var unlimited: Bool

    public static let minimumDurationSeconds = 60
    public static let maximumDurationSeconds = 86_400

    public init(immutablePeriodMilliseconds: Int64, unlimited: Bool) {
        self.immutablePeriodMilliseconds = immutablePeriodMilliseconds
        self.unlimited = unlimited
    }

    /// The moment from which the room can no longer be replaced.
    public func freezeTime(startDate: Timestamp) -> Timestamp {
        Timestamp(milliseconds: startDate.milliseconds - immutablePeriodMilliseconds)
    }

    /// Once all participants are known and the freeze time has come, nothing may change.
    public func isImmutable(_ t: Teleconsultation, now: Timestamp) -> Bool {
        t.isComplete && now >= freezeTime(startDate: t.startDate)
    }

    /// A personal link is shown only when the room exists and can no longer be replaced.
    public func isLinkVisible(_ t: Teleconsultation, now: Timestamp) -> Bool {
        t.bandyerRoomId != nil && now >= freezeTime(startDate: t.startDate)
    }

    /// The room duration in seconds: nil when unlimited; else `end - start` rounded down,
    /// which must lie in 60…86400.
    public func roomDuration(start: Timestamp, end: Timestamp) throws(ValidationError) -> Int? {
        if end <= start { throw ValidationError("body/end_date must be after body/start_date") }
        if unlimited { return nil }
        let seconds = Int((end.milliseconds - start.milliseconds) / 1000)
        guard seconds >= Self.minimumDurationSeconds, seconds <= Self.maximumDurationSeconds else {
            throw ValidationError("body/end_date must be between \(Self.minimumDurationSeconds) and \(Self.maximumDurationSeconds) seconds after body/start_date (got \(seconds))")
        }
        return seconds
    }
}

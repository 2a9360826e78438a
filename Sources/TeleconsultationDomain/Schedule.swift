/// Time rules of a teleconsultation: pure functions of values and `now`.
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

    /// When a new teleconsultation happens: the end is given, or the start plus `duration_in_seconds`.
    public static func dates(creating input: TeleconsultationInput) -> (start: Timestamp, end: Timestamp)? {
        guard let start = input.startDate else { return nil }
        if let end = input.endDate { return (start, end) }
        guard let seconds = input.durationSeconds else { return nil }
        return (start, start.adding(seconds: seconds))
    }

    /// When a changed teleconsultation happens. A new start alone keeps the stored length
    /// (rescheduling is one field); `duration_in_seconds` counts from the start in force.
    public static func dates(changing stored: Teleconsultation, with input: TeleconsultationInput) -> (start: Timestamp, end: Timestamp) {
        let start = input.startDate ?? stored.startDate
        if let end = input.endDate { return (start, end) }
        if let seconds = input.durationSeconds { return (start, start.adding(seconds: seconds)) }
        if input.startDate != nil {
            return (start, Timestamp(milliseconds: start.milliseconds + (stored.endDate.milliseconds - stored.startDate.milliseconds)))
        }
        return (start, stored.endDate)
    }

    /// The room duration in seconds: nil when unlimited; else `end - start` rounded down,
    /// which must lie in 60…86400. The end is after the start in every case.
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

import TeleconsultationPorts

/// Retries a change that lost a race (the CRUD's conditional update did not match), with
/// jitter, for a bounded time. Time is a parameter: tests run the pauses on a clock of their own.
public struct ConflictRetry: Sendable {
    /// How long conflicting changes are retried (at least 2 s).
    public let budget: Duration
    let clock: any Clock<Duration>

    public init(budget: Duration, clock: any Clock<Duration> = ContinuousClock()) {
        self.budget = max(budget, .seconds(2))
        self.clock = clock
    }

    /// Runs `attempt` until it reports it was applied (true). Gives up with `exhausted` after
    /// the budget, and never pauses past the request's deadline.
    public func run(deadline: ContinuousClock.Instant, exhausted: @autoclosure () -> any Error,
                    _ attempt: () async throws -> Bool) async throws {
        let remaining = ContinuousClock.now.duration(to: deadline)
        try await run(on: clock, for: min(budget, max(remaining, .zero)), exhausted: exhausted(), attempt)
    }

    private func run<C: Clock<Duration>>(on clock: C, for limit: Duration, exhausted: @autoclosure () -> any Error,
                                          _ attempt: () async throws -> Bool) async throws {
        let start = clock.now
        var round = 0
        while true {
            if try await attempt() { return }
            round += 1
            let elapsed = start.duration(to: clock.now)
            if elapsed >= limit { throw exhausted() }
            // Jitter, growing with the rounds; the last pause ends exactly at the limit.
            let pause = min(Duration.milliseconds(Int.random(in: 5...(20 + 20 * min(round, 10)))), limit - elapsed)
            try await clock.sleep(for: pause)
        }
    }
}

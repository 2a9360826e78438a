import NIOCore
import NIOPosix
import Synchronization

/// `ContinuousClock`'s time, with its sleeps on SwiftNIO's timers.
///
/// A sleep on the standard clocks is a Dispatch timer: it starts libdispatch's timer thread,
/// of the user-initiated class, which asks for a higher priority (nice -4) than the sandboxed
/// service may have and writes the refusal to the journal as a line that is not JSON. The
/// process's sleeps (the conflict retries' pauses, the drain deadline) take this clock instead.
struct EventLoopClock: Clock {
    typealias Duration = Swift.Duration
    typealias Instant = ContinuousClock.Instant

    var now: Instant { ContinuousClock.now }
    var minimumResolution: Duration { .microseconds(1) }

    func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let sleeper = Sleeper()
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                let loop = MultiThreadedEventLoopGroup.singleton.any()
                let timer = loop.scheduleTask(in: TimeAmount(ContinuousClock.now.duration(to: deadline))) { sleeper.finish(.success(())) }
                sleeper.start(continuation, timer: timer)
            }
        } onCancel: {
            sleeper.finish(.failure(CancellationError()))
        }
    }
}

/// One sleep: whichever comes first, the timer or the cancellation, resumes it, once.
private final class Sleeper: Sendable {
    private struct State {
        var continuation: UnsafeContinuation<Void, any Error>?
        var timer: Scheduled<Void>?
        /// What ended it before the continuation was there (cancelled at once).
        var outcome: Result<Void, any Error>?
    }
    private let state = Mutex(State())

    func start(_ continuation: UnsafeContinuation<Void, any Error>, timer: Scheduled<Void>) {
        let early: Result<Void, any Error>? = state.withLock { s in
            if let outcome = s.outcome { return outcome }
            s.continuation = continuation
            s.timer = timer
            return nil
        }
        if let early {
            timer.cancel()
            continuation.resume(with: early)
        }
    }

    func finish(_ result: Result<Void, any Error>) {
        let (continuation, timer): (UnsafeContinuation<Void, any Error>?, Scheduled<Void>?) = state.withLock { s in
            guard s.outcome == nil else { return (nil, nil) }
            s.outcome = result
            defer { s.continuation = nil; s.timer = nil }
            return (s.continuation, s.timer)
        }
        if case .failure = result { timer?.cancel() }
        continuation?.resume(with: result)
    }
}

import NIOCore
import NIOPosix
import Synchronization
import TeleconsultationService

/// Standard error for the log lines: the lines an event loop writes while it runs the tasks
/// at hand go out together, in one `write(2)` made by a task queued behind them (the request
/// log line was a system call of its own on every request). Lines from any other thread
/// (start-up, the main thread) are written at once. Before the process exits, `flushAll()`
/// writes what is still gathered; a crash loses at most the lines of the loop's current turn.
final class BatchedStandardError: Sendable {
    /// Past this many bytes a loop's lines are written at once, without waiting for the turn's end.
    static let limit = 64 << 10

    private final class Pending: Sendable {
        let bytes = Mutex<[UInt8]>([])

        /// Appends the line: whether it is the first of a batch (a flush must be queued) and
        /// whether the batch is full (to be written now).
        func append(_ line: [UInt8]) -> (first: Bool, full: Bool) {
            bytes.withLock { b in
                let first = b.isEmpty
                if first && b.capacity == 0 { b.reserveCapacity(16 << 10) }
                b.append(contentsOf: line)
                return (first, b.count >= BatchedStandardError.limit)
            }
        }

        func flush() {
            bytes.withLock { b in
                guard !b.isEmpty else { return }
                JSONLogHandler.standardError(b)
                b.removeAll(keepingCapacity: true)
            }
        }
    }

    private let loops = Mutex<[ObjectIdentifier: Pending]>([:])

    init() {}

    func write(_ line: [UInt8]) {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else { return JSONLogHandler.standardError(line) }
        let pending = loops.withLock { loops in
            if let p = loops[ObjectIdentifier(loop)] { return p }
            let p = Pending()
            loops[ObjectIdentifier(loop)] = p
            return p
        }
        let (first, full) = pending.append(line)
        if full {
            pending.flush()
        } else if first {
            loop.execute { pending.flush() }
        }
    }

    /// Writes every loop's gathered lines (before the process exits).
    func flushAll() {
        for pending in loops.withLock({ Array($0.values) }) { pending.flush() }
    }
}

import Foundation
import Glibc
import Testing

/// Waiting on events, never on the clock: a condition is checked again each time one of the
/// watched directories changes (inotify: a file in it created, written, closed, renamed or
/// removed — a log line, a unix socket, a pid file) or one of the watched children exits (its
/// pidfd), until a deadline.
enum EventWait {
    static let changes = UInt32(IN_CREATE) | UInt32(IN_MODIFY) | UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_ATTRIB)
        | UInt32(IN_DELETE)

    /// True once `condition` holds, false if it still does not at `deadline`.
    static func until(_ deadline: ContinuousClock.Instant, directories: [String], children: [Spawned], _ condition: () -> Bool) -> Bool {
        let inotify = inotify_init1(Int32(IN_CLOEXEC) | Int32(IN_NONBLOCK))
        guard inotify >= 0 else {
            Issue.record("inotify_init1: \(String(cString: strerror(errno))): cannot wait for events")
            return condition()
        }
        defer { close(inotify) }
        // Watched before the first check, so a change between the check and poll() is not lost.
        for dir in Set(directories) where inotify_add_watch(inotify, dir, changes) < 0 {
            Issue.record("inotify_add_watch \(dir): \(String(cString: strerror(errno))): its changes cannot be awaited")
        }
        var events = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            if condition() { return true }
            let left = ContinuousClock.now.duration(to: deadline)
            if left <= .zero { return false }
            // A child that has exited (and been reaped) is readable for ever: only the running ones.
            var fds = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)]
                + children.filter(\.isRunning).map { pollfd(fd: $0.exitDescriptor, events: Int16(POLLIN), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), milliseconds(left))
            while read(inotify, &events, events.count) > 0 {}
        }
    }
}

import Foundation
import Glibc

/// A child process started with posix_spawn and reaped with waitpid; its exit is awaited on
/// a pidfd, with a deadline.
///
/// Not Foundation's Process: it notices a child's exit through a descriptor that children
/// spawned at the same moment by other tests can inherit, and then waits for them too. A
/// pidfd is opened close-on-exec and refers to this one process.
final class Spawned: @unchecked Sendable {
    let pid: pid_t
    /// Readable (POLLIN) once the child has exited: poll it instead of sleeping.
    let exitDescriptor: Int32
    private let lock = NSLock()
    private var status: Int32?

    /// `stdin`: a descriptor to give the child as fd 0 (else /dev/null).
    init(_ path: String, _ args: [String], environment: [String: String], stdout: String, stderr: String, stdin: Int32? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin {
            posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        // Nothing else: SwiftNIO opens its sockets without close-on-exec, so a child would keep
        // a copy of every socket the test process has open at that moment (another test's
        // connection then never closes while the child lives).
        Self.addCloseFrom(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw StackError("posix_spawn \(path): \(String(cString: strerror(rc)))") }
        pid = child
        // Not reaped yet (only this object reaps it), so the pid cannot have been reused.
        exitDescriptor = Self.pidfdOpen(child, 0)
        guard exitDescriptor >= 0 else {
            let why = String(cString: strerror(errno))
            kill(child, SIGKILL)
            var raw: Int32 = 0
            waitpid(child, &raw, 0)
            throw StackError("pidfd_open for \(path): \(why)")
        }
    }

    deinit { close(exitDescriptor) }

    /// posix_spawn_file_actions_addclosefrom_np(3): in glibc since 2.34, but not declared by
    /// Swift's Glibc module.
    private static let addCloseFrom: @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32 = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            fatalError("this libc has no posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or later is needed)")
        }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// pidfd_open(2): in glibc since 2.36, but not declared by Swift's Glibc module.
    private static let pidfdOpen: @convention(c) (pid_t, UInt32) -> Int32 = {
        guard let symbol = dlsym(nil, "pidfd_open") else { fatalError("this libc has no pidfd_open (glibc 2.36 or later is needed)") }
        return unsafeBitCast(symbol, to: (@convention(c) (pid_t, UInt32) -> Int32).self)
    }()

    /// Waits for the exit (poll on the pidfd) until `deadline`: the exit status, or nil if it
    /// is still running then.
    func exitStatus(before deadline: ContinuousClock.Instant) -> Int32? {
        while true {
            if let status = exitStatus { return status }
            let left = ContinuousClock.now.duration(to: deadline)
            if left <= .zero { return nil }
            var p = pollfd(fd: exitDescriptor, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, milliseconds(left))
        }
    }

    /// The exit status once exited (128 + signal when killed), else nil.
    var exitStatus: Int32? {
        lock.lock(); defer { lock.unlock() }
        if status == nil {
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid {
                let signal = raw & 0x7F
                status = signal == 0 ? (raw >> 8) & 0xFF : 128 + signal
            }
        }
        return status
    }

    var isRunning: Bool { exitStatus == nil }
}

/// A duration as poll(2)'s timeout: whole milliseconds, rounded up (so a wait never spins on a
/// zero timeout before its deadline), at most Int32.max.
func milliseconds(_ d: Duration) -> Int32 {
    let (seconds, attoseconds) = d.components
    guard seconds >= 0 else { return 0 }
    let ms = seconds.multipliedReportingOverflow(by: 1000)
    guard !ms.overflow else { return .max }
    return Int32(clamping: ms.partialValue + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
}

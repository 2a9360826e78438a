import Glibc

/// SIGTERM and SIGINT, taken synchronously by one thread with sigwait.
enum TerminationSignals {
    private static func set() -> sigset_t {
        var s = sigset_t()
        sigemptyset(&s)
        sigaddset(&s, SIGTERM)
        sigaddset(&s, SIGINT)
        return s
    }

    /// Blocks them in the calling thread (and every thread it creates later) and ignores SIGPIPE.
    static func block() {
        var s = set()
        pthread_sigmask(SIG_BLOCK, &s, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    /// Waits for one of them; returns its number.
    static func wait() -> Int32 {
        var s = set()
        var received: Int32 = 0
        sigwait(&s, &received)
        return received
    }
}

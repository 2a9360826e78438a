import CProcessShims
import NIOCore
import NIOPosix

/// SwiftNIO's event loops as Swift's global executor: request tasks and the HTTP client then
/// share the event-loop threads, with no hop between Dispatch's pool and an event loop on
/// every await. It does what `NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()`
/// does, but reaches the runtime's hook at link time (see `executor_hook.c`): that works with
/// the Swift runtime linked in statically too. (Sleeps do not go through this hook: they take
/// `EventLoopClock`.)
enum EventLoopExecutor {
    typealias EnqueueHook = @convention(thin) (UnownedJob, @convention(thin) (UnownedJob) -> Void) -> Void

    /// Must run before any task exists; true when installed.
    static func install() -> Bool {
        let hook: EnqueueHook = { job, _ in
            // Sticky: on an event loop of the group already, the job stays on it.
            MultiThreadedEventLoopGroup.singleton.any().enqueue(ExecutorJob(job))
        }
        return withUnsafePointer(to: hook) { pointer in
            pointer.withMemoryRebound(to: UnsafeRawPointer.self, capacity: 1) { tcb_install_global_enqueue_hook($0.pointee) }
        }
    }
}

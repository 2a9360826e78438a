// The Swift runtime's hook for enqueueing jobs on the global executor, referenced directly.
//
// SwiftNIO installs its event loops as the global executor by finding this variable with
// dlsym. With the Swift runtime linked in statically (--static-swift-stdlib, which also
// passes --exclude-libs ALL), the variable is not in the dynamic symbol table, dlsym finds
// nothing, and every await would hop through Dispatch's thread pool. A reference resolved
// at link time finds it in both the static and the dynamic build.
#include "process_shims.h"
#include <stddef.h>

extern const void *swift_task_enqueueGlobal_hook;

bool tcb_install_global_enqueue_hook(const void *hook) {
    if (swift_task_enqueueGlobal_hook != NULL) return false;
    swift_task_enqueueGlobal_hook = hook;
    return true;
}

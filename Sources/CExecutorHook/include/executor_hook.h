#ifndef TCB_EXECUTOR_HOOK_H
#define TCB_EXECUTOR_HOOK_H
#include <stdbool.h>

/// Sets the Swift runtime's global-enqueue hook to `hook` (a Swift `@convention(thin)`
/// function) if none is set; false otherwise.
bool tcb_install_global_enqueue_hook(const void *hook);

#endif

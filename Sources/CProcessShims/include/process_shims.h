#ifndef TCB_PROCESS_SHIMS_H
#define TCB_PROCESS_SHIMS_H
// What the executable needs from the C side that Swift's Glibc module does not give it.
#include <stdbool.h>
#include <sys/signalfd.h>

/// Sets the Swift runtime's global-enqueue hook to `hook` (a Swift `@convention(thin)`
/// function) if none is set; false otherwise.
bool tcb_install_global_enqueue_hook(const void *hook);

#endif

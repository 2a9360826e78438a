#ifndef CFASTCGI_SHIM_H
#define CFASTCGI_SHIM_H
// libfcgi (Debian libfcgi-dev; libfcgi0ldbl at run time) as a Swift module: its thread-safe
// API, fcgiapp.h. libfcgi speaks the FastCGI protocol in both directions; Swift never frames a
// record. Also the Linux calls the responder loop waits with (epoll, eventfd).
#include <fcgiapp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>

// Names the calling thread (as ps and perf show it); prctl is variadic, out of Swift's reach.
static inline void tcb_name_this_thread(const char *name) {
    prctl(PR_SET_NAME, name, 0, 0, 0);
}

// The one libfcgi internal this program reads, and why.
//
// After a request whose web server asked to keep the connection (FCGI_KEEP_CONN),
// FCGX_Finish_r leaves the connection open in the FCGX_Request, and the next FCGX_Accept_r
// reads the next request from it, blocking, with no timeout of its own. The public API has
// no way to ask whether that kept connection is readable, so a thread would have to sit in
// a blocking read on every idle kept connection. The descriptor is the `ipcFd` field (below
// fcgiapp.h's "don't use anything below here"); reading it here, and only here, lets the
// responder loop park idle kept connections in epoll and call FCGX_Accept_r only once the
// web server has sent something. -1: the request holds no connection.
static inline int tcb_fcgx_connection_fd(const FCGX_Request *request) {
    return request->ipcFd;
}

#endif

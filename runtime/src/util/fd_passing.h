// Passing an fd over a unix socket (SCM_RIGHTS): one copy for the sync
// channel, --console-socket and the seccomp listener, EINTR handled once.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <string>

#include "util/fd.h"

namespace glassrun::fd_passing {

// One sendmsg of iov, with fd attached when fd >= 0 (MSG_NOSIGNAL, EINTR
// retried). Returns the bytes sent; throws Error("<what>: <errno>").
size_t send(int sock, const iovec* iov, size_t iovlen, int fd, const std::string& what);
// A connected SOCK_STREAM unix socket; errors name `what` and the path.
UniqueFd connect_unix(const std::string& path, const std::string& what);

}  // namespace glassrun::fd_passing

// Receiving what the runtime sends to listenerPath: one message carrying the
// ContainerProcessState JSON and, via SCM_RIGHTS, the seccomp notify fd.
#pragma once

#include <string>

namespace agent {

struct Handoff {
  std::string state_json;  // runtime-spec ContainerProcessState
  int notify_fd = -1;      // owned by the caller
};

// A bound, listening SOCK_STREAM socket at path (an old socket file is removed).
int listen_on(const std::string& path);

// Accepts one connection and reads its message until the runtime closes it.
// Throws std::runtime_error.
Handoff accept_handoff(int listen_fd);

}  // namespace agent

// Answers seccomp notifications: the chosen syscall gets a fixed reply, any
// other is let through to the kernel (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
#pragma once

#include <ostream>
#include <string>

namespace agent {

struct Reply {
  int syscall_nr;   // the syscall this agent handles
  int error = 0;    // errno to fail it with; 0 = succeed with value 0
};

// Receives one notification on notify_fd and answers it; writes one log line.
// Returns false once the fd is dead (every filtered process exited).
bool answer_one(int notify_fd, const Reply& reply, std::ostream& log);

}  // namespace agent

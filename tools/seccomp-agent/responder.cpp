#include "responder.h"

#include <seccomp.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace agent {
namespace {

struct Notif {
  seccomp_notif* req = nullptr;
  seccomp_notif_resp* resp = nullptr;
  Notif() {
    if (seccomp_notify_alloc(&req, &resp) < 0) throw std::bad_alloc();
  }
  ~Notif() { seccomp_notify_free(req, resp); }
};

std::string syscall_name(int nr) {
  std::unique_ptr<char, decltype(&free)> name(seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr), &free);
  return name ? name.get() : "syscall#" + std::to_string(nr);
}

}  // namespace

bool answer_one(int notify_fd, const Reply& reply, std::ostream& log) {
  Notif n;
  if (int rc = seccomp_notify_receive(notify_fd, n.req); rc < 0) {
    // ENOENT: the caller died (or was interrupted) before we read it.
    return rc == -ENOENT || rc == -EINTR;
  }
  n.resp->id = n.req->id;
  n.resp->val = 0;
  n.resp->error = 0;
  n.resp->flags = 0;
  const bool handled = static_cast<int>(n.req->data.nr) == reply.syscall_nr;
  std::string outcome;
  if (!handled) {
    n.resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    outcome = "continue";
  } else if (reply.error != 0) {
    n.resp->error = -reply.error;
    outcome = "errno " + std::to_string(reply.error);
  } else {
    outcome = "success 0";
  }
  int rc = seccomp_notify_respond(notify_fd, n.resp);
  log << "seccomp-agent: pid=" << n.req->pid << " syscall=" << syscall_name(static_cast<int>(n.req->data.nr))
      << " reply=" << outcome << (rc < 0 ? " (target gone)" : "") << std::endl;
  return true;
}

}  // namespace agent

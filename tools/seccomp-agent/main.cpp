// glassrun-seccomp-agent SOCKET [SYSCALL [ERRNO]]
//
// Listens on SOCKET (a container's linux.seccomp.listenerPath), takes the
// ContainerProcessState + notify fd each container's runtime sends, and
// answers notifications: SYSCALL (default mkdir) fails with ERRNO, or succeeds
// with 0 when ERRNO is absent; other notified syscalls run normally. One log
// line per event goes to stdout. Runs until SIGINT/SIGTERM.
#include <poll.h>
#include <seccomp.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "handoff.h"
#include "responder.h"

namespace {

int usage() {
  std::cerr << "usage: glassrun-seccomp-agent SOCKET [SYSCALL [ERRNO]]\n";
  return 2;
}

void log_handoff(const agent::Handoff& h) {
  auto state = nlohmann::json::parse(h.state_json, nullptr, false);
  std::string id = "?", metadata;
  long pid = -1;
  if (state.is_object() && state.contains("state") && state["state"].is_object()) {
    id = state["state"].value("id", "?");
    pid = state.value("pid", -1L);
    metadata = state.value("metadata", "");  // the config's listenerMetadata
  }
  std::cout << "seccomp-agent: container " << id << " pid=" << pid
            << (h.notify_fd >= 0 ? " notify fd received" : " no notify fd") << " metadata=" << metadata << std::endl;
}

// Serves the listening socket and every notify fd received so far; a notify
// fd is dropped when it hangs up (its processes are all gone).
void serve(int listen_fd, const agent::Reply& reply) {
  std::vector<pollfd> fds{{listen_fd, POLLIN, 0}};
  for (;;) {
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("poll failed");
    }
    for (size_t i = fds.size(); i-- > 1;) {
      bool alive = !(fds[i].revents & (POLLHUP | POLLERR));
      if (alive && (fds[i].revents & POLLIN)) alive = agent::answer_one(fds[i].fd, reply, std::cout);
      if (!alive) {
        close(fds[i].fd);
        fds.erase(fds.begin() + static_cast<long>(i));
      }
    }
    if (fds[0].revents & POLLIN) {
      try {
        agent::Handoff h = agent::accept_handoff(listen_fd);
        log_handoff(h);
        fds.push_back({h.notify_fd, POLLIN, 0});
      } catch (const std::exception& e) {
        std::cout << "seccomp-agent: bad handoff: " << e.what() << std::endl;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) return usage();
  const char* name = argc > 2 ? argv[2] : "mkdir";
  agent::Reply reply{seccomp_syscall_resolve_name(name)};
  if (reply.syscall_nr == __NR_SCMP_ERROR) {
    std::cerr << "glassrun-seccomp-agent: unknown syscall " << name << "\n";
    return 2;
  }
  if (argc > 3) reply.error = std::atoi(argv[3]);
  try {
    int listen_fd = agent::listen_on(argv[1]);
    std::cout << "seccomp-agent: listening on " << argv[1] << " for " << name << std::endl;
    serve(listen_fd, reply);
  } catch (const std::exception& e) {
    std::cerr << "glassrun-seccomp-agent: " << e.what() << "\n";
    return 1;
  }
}

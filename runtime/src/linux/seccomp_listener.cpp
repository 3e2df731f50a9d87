// The runtime side of the seccomp agent protocol (runtime-spec config-linux.md
// "seccomp", runc 1.1 sendContainerProcessState): connect to listenerPath and
// send one message carrying the ContainerProcessState JSON and, via
// SCM_RIGHTS, the notify fd named "seccompFd" in its "fds" array.
#include <sys/socket.h>

#include "linux/seccomp.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fd_passing.h"

namespace glassrun::seccomp {
namespace {

using nlohmann::json;

constexpr const char* kSeccompFdName = "seccompFd";
constexpr const char* kFallbackOciVersion = "1.0.2";

std::string container_process_state(int pid, const std::string& state_json, const std::string& metadata) {
  json state = json::parse(state_json, nullptr, /*allow_exceptions=*/false);
  if (!state.is_object()) fail("seccomp listener: container state is not a JSON object");
  auto init_pid = state.find("pid");
  if (init_pid == state.end() || !init_pid->is_number_integer()) fail("seccomp listener: container state has no pid");
  auto version = state.find("ociVersion");
  json cps = {
      {"ociVersion", version != state.end() && version->is_string() ? *version : json(kFallbackOciVersion)},
      {"fds", json::array({kSeccompFdName})},
      {"pid", pid},
  };
  if (!metadata.empty()) cps["metadata"] = metadata;  // omitempty, as runc's Go struct
  // The runtime-spec's State and nothing more (runc's specs.State), whoever
  // built it: the init's and an exec'd process's messages have one shape.
  json spec_state = json::object();
  for (const char* key : {"ociVersion", "id", "status", "pid", "bundle", "annotations"})
    if (auto it = state.find(key); it != state.end()) spec_state[key] = *it;
  cps["state"] = std::move(spec_state);
  return cps.dump();
}

// The fd rides on the first byte of the payload; any tail a short send left
// over goes out plainly afterwards.
void send_with_fd(int sock, const std::string& payload, int fd) {
  iovec iov{const_cast<char*>(payload.data()), payload.size()};
  size_t sent = fd_passing::send(sock, &iov, 1, fd, "seccomp listener: sendmsg");
  for (size_t off = sent; off < payload.size();) {
    ssize_t n = send(sock, payload.data() + off, payload.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("seccomp listener: send");
    off += static_cast<size_t>(n);
  }
}

}  // namespace

void send_to_listener(const Filter& filter, int notify_fd, int pid, const std::string& state_json) {
  if (notify_fd < 0) fail("seccomp listener: no notify fd to send");
  std::string payload = container_process_state(pid, state_json, filter.listener_metadata());
  UniqueFd sock = fd_passing::connect_unix(
      filter.listener_path(), "seccomp listener: failed to connect with seccomp agent specified in the seccomp profile");
  send_with_fd(sock.get(), payload, notify_fd);
}

}  // namespace glassrun::seccomp

// The channel between glassrun and the init it cloned: a SOCK_SEQPACKET
// socketpair carrying typed messages (and, for the console, one fd).
#pragma once

#include <cstdint>
#include <string>

#include "util/error.h"
#include "util/fd.h"

namespace glassrun::sync {

enum class Msg : uint32_t {
  Continue = 1,       // parent → init: id maps and cgroups are in place
  HooksRequest,       // init → parent: namespaces and mounts exist, run prestart/createRuntime
  HooksDone,          // parent → init
  ConsoleFd,          // init → parent: the pty master (fd attached)
  SeccompFd,          // init → parent: the seccomp notify fd (fd attached)
  Ready,              // init → parent: waiting on exec.fifo
  Error,              // either way: text says what failed
};

struct Message {
  Msg type{};
  int32_t err = 0;
  std::string text;
};

// The other end closed the channel: it exited, or failed and reports itself.
struct PeerGone : Error {
  PeerGone() : Error("the other side exited without a word") {}
};

// How long glassrun waits for its child's next message (init or exec): the
// child's steps take milliseconds; hooks run in glassrun itself, not counted.
constexpr int kChildMessageTimeoutMs = 60000;

class Channel {
 public:
  Channel() = default;
  explicit Channel(UniqueFd fd) : fd_(std::move(fd)) {}
  static std::pair<Channel, Channel> pair();

  void send(Msg type, const std::string& text = "", int err = 0, int fd_to_pass = -1) const;
  // send, where a peer already gone (EPIPE) is left to the next recv: a child
  // that failed first has its Error message waiting there, naming the errno.
  void send_unless_gone(Msg type) const;
  // Throws Error on EOF ("peer closed the channel") or a bad message; with
  // timeout_ms >= 0, also when nothing arrives in that time (a stuck peer,
  // e.g. an init in a frozen cgroup, must not hang the caller forever).
  Message recv(UniqueFd* received_fd = nullptr, int timeout_ms = -1) const;
  // recv, and if it is an Error message, throw it as an Error.
  Message expect(Msg type, UniqueFd* received_fd = nullptr) const;

  int fd() const { return fd_.get(); }
  void close() { fd_.reset(); }

 private:
  UniqueFd fd_;
};

}  // namespace glassrun::sync

#include "linux/sync.h"

#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>
#include <vector>

#include "util/error.h"
#include "util/fd_passing.h"

namespace glassrun::sync {

namespace {
struct Header {
  Msg type;
  int32_t err;
};
constexpr size_t kMaxMessage = 16384;
}  // namespace

std::pair<Channel, Channel> Channel::pair() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_sys("socketpair");
  return {Channel(UniqueFd(sv[0])), Channel(UniqueFd(sv[1]))};
}

void Channel::send(Msg type, const std::string& text, int err, int fd_to_pass) const {
  Header h{type, err};
  iovec iov[2] = {{&h, sizeof h}, {const_cast<char*>(text.data()), std::min(text.size(), kMaxMessage - sizeof h)}};
  fd_passing::send(fd_.get(), iov, 2, fd_to_pass, "send on sync socket");
}

void Channel::send_unless_gone(Msg type) const {
  try {
    send(type);
  } catch (const Error& e) {
    if (e.sys_errno() != EPIPE) throw;
  }
}

Message Channel::recv(UniqueFd* received_fd, int timeout_ms) const {
  if (timeout_ms >= 0) {
    pollfd p{fd_.get(), POLLIN, 0};
    int r;
    while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
    }
    if (r < 0) throw_sys("poll sync socket");
    if (r == 0) throw Error(fmt::format("receive on sync socket: no message in {} s", timeout_ms / 1000), ETIMEDOUT);
  }
  // Left uninitialised: the kernel writes only the message, so a short one
  // touches one page of the buffer, not four (a page fault each, and after
  // a fork a copy each; issue 18).
  std::unique_ptr<char[]> buf(new char[kMaxMessage]);
  iovec iov{buf.get(), kMaxMessage};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))];
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  ssize_t n;
  bool reset_seen = false;
  while ((n = recvmsg(fd_.get(), &m, MSG_CMSG_CLOEXEC)) < 0) {
    // A peer that exits with our last message unread resets the socket; the
    // error is reported once, ahead of what it sent before going (a child
    // that failed before reading Continue: its Error is still queued).
    if (errno == ECONNRESET && !reset_seen) {
      reset_seen = true;
      continue;
    }
    if (errno != EINTR) throw_sys("receive on sync socket");
  }
  if (n == 0) throw PeerGone();
  if (static_cast<size_t>(n) < sizeof(Header)) throw Error("short message on sync socket");
  Header h;
  memcpy(&h, buf.get(), sizeof h);
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      memcpy(&fd, CMSG_DATA(c), sizeof fd);
      if (received_fd)
        received_fd->reset(fd);
      else
        ::close(fd);
    }
  }
  return Message{h.type, h.err, std::string(buf.get() + sizeof h, static_cast<size_t>(n) - sizeof h)};
}

Message Channel::expect(Msg type, UniqueFd* received_fd) const {
  Message m = recv(received_fd);
  if (m.type == Msg::Error) throw Error(m.text, m.err);
  if (m.type != type) throw Error(fmt::format("unexpected message {} on sync socket", static_cast<int>(m.type)));
  return m;
}

}  // namespace glassrun::sync

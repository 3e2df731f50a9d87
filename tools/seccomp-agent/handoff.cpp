#include "handoff.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace agent {
namespace {

[[noreturn]] void fail_sys(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

int fd_from(msghdr& msg) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int fd;
    std::memcpy(&fd, CMSG_DATA(c), sizeof(fd));
    return fd;
  }
  return -1;
}

}  // namespace

int listen_on(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) throw std::runtime_error("socket path too long: " + path);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_sys("socket");
  unlink(path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) fail_sys("bind " + path);
  if (listen(fd, 16) < 0) fail_sys("listen " + path);
  return fd;
}

Handoff accept_handoff(int listen_fd) {
  int conn = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (conn < 0) fail_sys("accept");
  Handoff h;
  char buf[64 * 1024];
  iovec iov{buf, sizeof(buf)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0) {
    close(conn);
    fail_sys("recvmsg");
  }
  h.notify_fd = fd_from(msg);
  h.state_json.assign(buf, static_cast<size_t>(n));
  // A large state may arrive in pieces; the runtime closes after sending.
  while ((n = read(conn, buf, sizeof(buf))) > 0) h.state_json.append(buf, static_cast<size_t>(n));
  close(conn);
  if (h.notify_fd < 0) throw std::runtime_error("message carried no fd");
  return h;
}

}  // namespace agent

#include "util/fd_passing.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "util/error.h"

namespace glassrun::fd_passing {

size_t send(int sock, const iovec* iov, size_t iovlen, int fd, const std::string& what) {
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(iov);
  m.msg_iovlen = iovlen;
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  ssize_t n;
  while ((n = sendmsg(sock, &m, MSG_NOSIGNAL)) < 0)
    if (errno != EINTR) throw_sys(what);
  return static_cast<size_t>(n);
}

UniqueFd connect_unix(const std::string& path, const std::string& what) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    fail("{}: invalid socket path \"{}\" (length {}, max {})", what, path, path.size(), sizeof addr.sun_path - 1);
  std::memcpy(addr.sun_path, path.data(), path.size());
  UniqueFd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) throw_sys(fmt::format("{}: socket", what));
  while (connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    if (errno != EINTR) throw_sys(fmt::format("{}: connect to {}", what, path));
  return sock;
}

}  // namespace glassrun::fd_passing

#include "linux/console.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "util/error.h"
#include "util/probes.h"

namespace glassrun::console {

Pty open_pty(unsigned rows, unsigned cols) {
  Step s("init.console");
  UniqueFd master(open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) throw_sys("open /dev/ptmx");
  if (unlockpt(master.get()) != 0) throw_sys("unlockpt");
  char name[128];
  if (ptsname_r(master.get(), name, sizeof name) != 0) throw_sys("ptsname");
  if (rows && cols) {
    winsize ws{static_cast<unsigned short>(rows), static_cast<unsigned short>(cols), 0, 0};
    if (ioctl(master.get(), TIOCSWINSZ, &ws) != 0) throw_sys("set console size");
  }
  return Pty{std::move(master), name};
}

void attach_slave(const std::string& slave_name) {
  if (setsid() < 0) throw_sys("setsid");
  UniqueFd slave(open(slave_name.c_str(), O_RDWR | O_CLOEXEC));
  if (!slave) throw_sys(fmt::format("open {}", slave_name));
  if (ioctl(slave.get(), TIOCSCTTY, 0) != 0) throw_sys(fmt::format("make {} the controlling terminal", slave_name));
  for (int i = 0; i < 3; ++i)
    if (dup2(slave.get(), i) < 0) throw_sys(fmt::format("dup {} to fd {}", slave_name, i));
}

void send_fd(int sock, int fd, const std::string& payload) {
  iovec iov{const_cast<char*>(payload.data()), payload.size()};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))];
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (sendmsg(sock, &m, MSG_NOSIGNAL) < 0) throw_sys("send console fd");
}

void send_to_socket(const std::string& socket_path, int master_fd, const std::string& name) {
  UniqueFd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) throw_sys("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) throw Error(fmt::format("--console-socket {}: path too long", socket_path));
  strcpy(addr.sun_path, socket_path.c_str());
  if (connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw_sys(fmt::format("connect to --console-socket {}", socket_path));
  send_fd(sock.get(), master_fd, name.empty() ? "/dev/ptmx" : name);
}

}  // namespace glassrun::console

// process.terminal: a pty from the container's own devpts, the slave made the
// process's controlling terminal and stdio, the master handed out over
// --console-socket (one message, one byte or more of payload, one fd).
#pragma once

#include <string>

#include "util/fd.h"

namespace glassrun::console {

struct Pty {
  UniqueFd master;
  std::string slave_name;
};

// In the init, after pivot_root: open /dev/ptmx, unlock, size the window.
Pty open_pty(unsigned rows, unsigned cols);
// In the init: setsid, make slave the controlling terminal and fds 0-2.
void attach_slave(const std::string& slave_name);
// Connects to the console socket (a unix socket path) and sends the master.
void send_to_socket(const std::string& socket_path, int master_fd, const std::string& name);
// Sends an fd over an already connected unix socket.
void send_fd(int sock, int fd, const std::string& payload);

}  // namespace glassrun::console

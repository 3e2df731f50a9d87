// process.terminal: a pty from the container's own devpts, the slave made the
// process's controlling terminal and stdio, the master handed out over
// --console-socket (one message, one byte or more of payload, one fd).
#pragma once

#include <string>

#include "util/fd.h"

namespace glassrun::console {

struct Pty {
  UniqueFd master;
  UniqueFd slave;          // from the master (TIOCGPTPEER), never looked up by name
  std::string slave_name;  // what the console socket is told
};

// In the init, after pivot_root: open /dev/ptmx, unlock, size the window,
// and open the slave through the master.
Pty open_pty(unsigned rows, unsigned cols);
// In the init: setsid, make the slave the controlling terminal and fds 0-2.
void attach_slave(const Pty& pty);
// In the init, after pivot_root: bind the slave onto /dev/console (the
// runtime-spec's terminal device), safely against the image (CVE-2025-52565).
void bind_dev_console(const Pty& pty);
// Connects to the console socket (a unix socket path) and sends the master.
void send_to_socket(const std::string& socket_path, int master_fd, const std::string& name);

}  // namespace glassrun::console

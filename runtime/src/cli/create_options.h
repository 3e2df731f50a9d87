// Flags shared by create and run.
#pragma once

#include "cli/cli.h"
#include "container/container.h"

namespace glassrun::cli {

inline void add_create_flags(CLI::App* sub, container::CreateOptions& o) {
  sub->add_option("container-id", o.id, "the container's id")->required();
  sub->add_option("-b,--bundle", o.bundle, "path to the bundle directory");
  sub->add_option("--console-socket", o.console_socket, "unix socket that receives the pty master");
  sub->add_option("--pid-file", o.pid_file, "file to write the init's pid to");
  sub->add_flag("--no-pivot", o.no_pivot, "use chroot instead of pivot_root");
  sub->add_flag("--no-new-keyring", o.no_new_keyring, "keep the caller's session keyring");
  sub->add_option("--preserve-fds", o.preserve_fds, "pass N extra fds (3..3+N-1) to the container");
}

}  // namespace glassrun::cli

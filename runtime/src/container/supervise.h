// The parent of a container process (create's init, exec's process): what
// both do around it, once: block the forwarded signals, kill on failure,
// write --pid-file, and wait in the foreground (run, exec without --detach).
#pragma once

#include <sys/types.h>

#include <string>

#include "util/fd.h"

namespace glassrun::container {

// Blocks every signal that is forwarded to the container process (all but
// the synchronous ones, SIGKILL and SIGSTOP) before the process exists, so
// none is lost; returns a signalfd for them. The child unblocks its own.
UniqueFd block_forwarded_signals();
// --pid-file: digits alone, no newline (containerd parses an integer), written atomically.
void write_pid_file(const std::string& path, pid_t pid);

// Waits for pid: signals from the signalfd sfd are forwarded to it (SIGWINCH
// resizes the pty), the user's terminal is proxied to master (-1: none) in
// raw mode and restored, every child is reaped. Returns pid's wait status.
int supervise(pid_t pid, int master, int sfd);
// SIGKILLs a child that failed to start and reaps it, within 10 s at most: a
// failing wait4 is retried, a process that cannot die (frozen) does not hang
// us (what is left, `delete --force` finds by id).
void kill_and_reap(pid_t pid);
// A wait status as a shell reports it: the exit code, or 128+N for signal N.
int exit_code(int status);

}  // namespace glassrun::container

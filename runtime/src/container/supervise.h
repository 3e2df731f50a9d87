// Waiting for a container process in the foreground (run, exec without
// --detach), as its parent.
#pragma once

#include <sys/types.h>

namespace glassrun::container {

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

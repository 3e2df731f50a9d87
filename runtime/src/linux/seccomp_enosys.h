// runc's -ENOSYS stub (libcontainer/seccomp/patchbpf): a few BPF instructions
// put in front of libseccomp's program so that a syscall newer than every
// syscall the profile names, on each architecture the profile lists, fails
// with ENOSYS instead of the default action. libc then falls back (clone3 →
// clone, faccessat2 → faccessat, ...) where EPERM would have been fatal.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "linux/seccomp_profile.h"

namespace glassrun::seccomp {

// The stub for p, ending just before libseccomp's program (its fall-through
// and every "not newer" jump land on the instruction after it). Empty when
// runc adds none: a permissive default action (allow, log, trace), a default
// that already is ENOSYS, or no listed architecture with a known syscall.
// Throws glassrun::Error if a jump does not fit (cannot happen for the
// architectures libseccomp knows).
std::vector<sock_filter> enosys_stub(const Profile& p);

}  // namespace glassrun::seccomp

#include "capture_plan.h"

#include <fcntl.h>

#include <algorithm>
#include <string>

#include "decode.h"
#include "syscalls.h"

namespace glasstrace {
namespace {

// Capture plan of one syscall, derived from its argument kinds.
gt_plan plan_from_args(const SyscallSignature& sig) {
  gt_plan p{};
  for (std::size_t i = 0; i < sig.args.size() && i < 6; i++) {
    switch (sig.args[i].kind) {
      case ArgKind::Str: case ArgKind::HostName: p.str_mask |= 1u << i; break;
      case ArgKind::Argv: p.extra = i == 1 ? GT_X_EXECVE : GT_X_EXECVEAT; break;
      case ArgKind::WriteBuf: p.extra = GT_X_WRITE; break;
      case ArgKind::CapData: p.struct_arg = i, p.struct_len = 24; break;      // __user_cap_data_struct[2]
      case ArgKind::Clone3Args: p.struct_arg = i, p.struct_len = 64; break;   // clone_args up to tls
      case ArgKind::MountAttr: p.struct_arg = i, p.struct_len = 32; break;    // struct mount_attr
      case ArgKind::MsgHdr: p.extra = GT_X_MSG; break;
      default: break;
    }
  }
  return p;
}

// Syscalls recorded whole at their exit (gt_plan.at_exit, events.h). Such
// a call does not wait for another task's action by design (a pipe, a
// FIFO, a lock, a child, a signal), so no trace ends while one is in
// flight: it would have no record at all, where an entry record shows it
// as incomplete. A filesystem's server (NFS, FUSE) may make one slow; the
// traced tree cannot hold it. Its string and struct args are input only,
// so reading them at exit reads what it was given; and it changes neither
// the task's namespaces nor its image (the header's ids are read at exit,
// comm and time at entry). Never recorded at exit: read* and write* on
// pipes, sockets or devices, open* that may open a FIFO, wait*, poll,
// futex, socket I/O, fcntl and flock (locks), ioctl, clone*, exec*,
// exit*, kill*, rt_sigreturn, setns, unshare, seccomp.
constexpr std::string_view kRecordedAtExit[] = {
    "access", "arch_prctl", "brk", "capget", "capset", "chdir", "chmod", "chown", "close", "close_range",
    "dup", "dup2", "dup3", "faccessat", "faccessat2", "fchdir", "fchmod", "fchmodat", "fchown", "fchownat",
    "fsconfig", "fsmount", "fsopen", "fstat", "fstatfs", "getcwd", "getdents64", "getegid", "geteuid",
    "getgid", "getgroups", "getpgrp", "getpid", "getppid", "getrandom", "getresgid", "getresuid",
    "getrlimit", "gettid", "getuid", "keyctl", "lchown", "lseek", "lstat", "madvise", "mkdir", "mkdirat",
    "mknod", "mknodat", "mmap", "mount", "mount_setattr", "move_mount", "mprotect", "munmap", "newfstatat",
    "open_tree", "pipe2", "pivot_root", "prctl", "prlimit64", "readlink", "readlinkat", "rename",
    "renameat", "renameat2", "rmdir", "rseq", "rt_sigaction", "rt_sigprocmask", "sched_getaffinity",
    "sched_setaffinity", "set_robust_list", "set_tid_address", "setdomainname", "setgid", "setgroups",
    "sethostname", "setresgid", "setresuid", "setsid", "setuid", "signalfd4", "socketpair", "stat",
    "statfs", "statx", "symlink", "symlinkat", "umask", "umount2", "uname", "unlink", "unlinkat",
};

// Recorded at exit only when this call cannot wait: an open that does not
// open (O_PATH), opens only a directory or does not wait (O_NONBLOCK: a
// FIFO without its other end fails at once); I/O on a regular file.
struct AtExitIf {
  std::string_view name;
  gt_at_exit when;
  uint8_t arg;
  uint32_t flags = 0;
};
constexpr uint32_t kOpensWithoutWaiting = O_PATH | O_DIRECTORY | O_NONBLOCK;
constexpr AtExitIf kRecordedAtExitIf[] = {
    {"open", GT_AT_EXIT_IF_FLAGS, 1, kOpensWithoutWaiting},
    {"openat", GT_AT_EXIT_IF_FLAGS, 2, kOpensWithoutWaiting},
    {"openat2", GT_AT_EXIT_IF_HOW_FLAGS, 2, kOpensWithoutWaiting},
    {"pread64", GT_AT_EXIT_IF_REGULAR_FILE, 0},
    {"pwrite64", GT_AT_EXIT_IF_REGULAR_FILE, 0},
    {"read", GT_AT_EXIT_IF_REGULAR_FILE, 0},
    {"readv", GT_AT_EXIT_IF_REGULAR_FILE, 0},
    {"write", GT_AT_EXIT_IF_REGULAR_FILE, 0},
    {"writev", GT_AT_EXIT_IF_REGULAR_FILE, 0},
};

}  // namespace

std::span<const std::string_view> syscalls_recorded_at_exit() { return kRecordedAtExit; }

gt_plan capture_plan_of(long nr) {
  std::string name = syscall_name(nr);
  const SyscallSignature* sig = signature_of(name);
  gt_plan p = sig ? plan_from_args(*sig) : gt_plan{};
  if (std::ranges::binary_search(kRecordedAtExit, std::string_view(name)))  // sorted: a test checks
    p.at_exit = GT_AT_EXIT;
  for (const AtExitIf& c : kRecordedAtExitIf) {
    if (c.name != name) continue;
    p.at_exit = c.when;
    p.at_exit_arg = c.arg;
    p.at_exit_flags = c.flags;
  }
  return p;
}

}  // namespace glasstrace

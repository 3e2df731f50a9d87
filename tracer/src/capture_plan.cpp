#include "capture_plan.h"

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

// Syscalls recorded whole at their exit (gt_plan.at_exit, events.h). Each
// one returns without waiting for another task, a pipe, a lock or a
// device, so no trace ends while one is in flight (it would have no
// record at all; an entry record shows it as incomplete); its string and
// struct args are input only, so reading them at exit reads what it was
// given; and it changes neither the task's namespaces nor its image (the
// header's ids are read at exit, comm and time at entry). Not here:
// open* (a FIFO waits for its other end), read*, write*, wait*, poll,
// futex, socket I/O, fcntl and flock (locks), ioctl, clone*, exec*,
// exit*, kill*, rt_sigreturn, setns, unshare, seccomp. Mounts are: a
// network or FUSE filesystem may make one slow, not wait for the traced
// tree.
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

}  // namespace

std::span<const std::string_view> syscalls_recorded_at_exit() { return kRecordedAtExit; }

gt_plan capture_plan_of(long nr) {
  std::string name = syscall_name(nr);
  const SyscallSignature* sig = signature_of(name);
  gt_plan p = sig ? plan_from_args(*sig) : gt_plan{};
  p.at_exit = std::ranges::binary_search(kRecordedAtExit, std::string_view(name));  // sorted: a test checks
  return p;
}

}  // namespace glasstrace

// Records the BPF side hands to user space through the ring buffer. Shared by
// glasstrace.bpf.c (clang -target bpf) and the C++ loader, so only fixed-size
// C types live here.
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define GT_COMM_LEN 16
#define GT_STR_LEN 256        // each captured path / string, NUL included
#define GT_NSTR 4             // string args captured per syscall
#define GT_ARGV_N 8           // execve argv entries captured
#define GT_ARGV_LEN 64        // bytes per argv entry
#define GT_DATA_LEN 64        // write() payload / capset data / clone3 args
#define GT_PATH_DEPTH 6       // dentry names walked for an fd's path
#define GT_NAME_LEN 48        // bytes per dentry name
#define GT_EXEC_ARGS_LEN 512  // argv block read from the new mm at exec

enum gt_kind {
  GT_SYS_ENTER = 1,
  GT_SYS_EXIT = 2,
  GT_FORK = 3,
  GT_EXEC = 4,
  GT_EXIT = 5,
  GT_STEP = 6,
  GT_AUDIT = 7,
  GT_SYSCALL = 8,  // a whole syscall, recorded at its exit (gt_plan.at_exit)
};

// What the BPF side captures beyond the raw args, per syscall number. User
// space fills the capture_plan map from decode.cpp's tables at load time.
enum gt_extra {
  GT_X_NONE = 0,
  GT_X_EXECVE = 1,     // argv at args[1]
  GT_X_EXECVEAT = 2,   // argv at args[2]
  GT_X_WRITE = 3,      // data at args[1], len args[2], fd args[0] path
  GT_X_MSG = 6,        // msghdr at args[1]: count SCM_RIGHTS fds at exit
};

struct gt_plan {
  __u8 str_mask;  // bit i: args[i] is a user string to copy
  __u8 extra;     // enum gt_extra
  // A fixed-size struct args[struct_arg] points to, copied into data
  // (capset's cap data, clone3's clone_args, mount_setattr's mount_attr).
  __u8 struct_arg;
  __u8 struct_len;  // bytes, <= GT_DATA_LEN; 0: none
  // enum gt_at_exit: recorded once, at its exit (GT_SYSCALL), instead of
  // at entry and exit, always or when a call cannot wait (capture_plan.cpp
  // lists them): half the records, and the entry keeps only time and comm.
  __u8 at_exit;
  __u8 at_exit_arg;     // the arg the condition looks at
  __u8 pad[2];
  __u32 at_exit_flags;  // GT_AT_EXIT_IF_*FLAGS: any of these bits set
};

enum gt_at_exit {
  GT_AT_ENTRY = 0,                // an entry and an exit record
  GT_AT_EXIT = 1,                 // one record at exit
  GT_AT_EXIT_IF_FLAGS = 2,        // ... when the flags arg has one of at_exit_flags
  GT_AT_EXIT_IF_HOW_FLAGS = 3,    // ... the same for the u64 the arg points to (openat2's how)
  GT_AT_EXIT_IF_REGULAR_FILE = 4, // ... when the fd arg is a regular file
};

// Who did it; common to every record.
struct gt_task {
  __u64 ts;  // bpf_ktime_get_ns (CLOCK_MONOTONIC)
  __u32 pid, tid;        // host view
  __u32 ns_pid, ns_tid;  // in the task's own pid namespace
  __u32 mntns, pidns;    // namespace inode numbers
  __u64 cgroup;
  char comm[GT_COMM_LEN];
};

struct gt_header {
  __u32 kind;   // enum gt_kind
  __u32 size;   // bytes of the whole record
  struct gt_task task;
};

struct gt_sys_enter {
  struct gt_header h;  // GT_SYSCALL: h.task as at entry (ts, comm) and exit
  __s64 nr;
  __u64 args[6];
  __u8 has_payload;
  // GT_SYSCALL only: how and when it returned.
  __s64 ret;
  __u64 exit_ts;
};

// Larger record for syscalls that have a capture plan: a fixed part, then
// `text`, NUL-terminated entries packed back to back and sent only as far as
// they go (h.size), not in fixed-size slots. In order: the fd's dentry names
// (write: path_depth of them, leaf first), one entry per string slot
// (str_arg), then argv (execve, execveat: argc of them). An entry is at most
// GT_NAME_LEN, GT_STR_LEN or GT_ARGV_LEN bytes with its NUL; an unreadable
// string is an empty entry. An openat is ~260 bytes instead of ~750.
// tracer/src/enter_text.h reads (and, for tests, writes) this layout.
#define GT_TEXT_LEN 1024  // most text bytes: GT_NSTR slots of GT_STR_LEN
struct gt_sys_enter_full {
  struct gt_sys_enter e;
  __u8 str_arg[GT_NSTR];  // which arg each slot belongs to, 0xff none; used slots first
  __u32 data_len;         // bytes valid in data
  __u8 data[GT_DATA_LEN];
  __u32 path_depth;       // dentry names in text
  __u32 argc;             // argv entries in text
  // GT_STR_LEN more than GT_TEXT_LEN: an entry read at any offset below
  // GT_TEXT_LEN stays inside (the BPF side's bounds).
  char text[GT_TEXT_LEN + GT_STR_LEN];
};

struct gt_sys_exit {
  struct gt_header h;
  __s64 nr;
  __s64 ret;
  __s32 scm_rights;  // fds passed by SCM_RIGHTS (send/recvmsg), -1 n/a
};

// An error return also carries the args (at exit they are still in the
// registers): a syscall seccomp refuses never reaches the sys_enter
// tracepoint, so this is its only record.
struct gt_sys_exit_err {
  struct gt_sys_exit x;
  __u64 args[6];
};

struct gt_fork {
  struct gt_header h;  // the parent
  __u32 child_pid, child_tid, child_ns_pid, child_ns_tid;
  __u32 child_pidns;
};

struct gt_exec {
  struct gt_header h;
  __u32 old_tid;
  __u32 args_len;
  char filename[GT_STR_LEN];
  char args[GT_EXEC_ARGS_LEN];  // NUL-separated argv from the new mm
};

struct gt_exit {
  struct gt_header h;
  __u32 exit_code;   // wait status: (code << 8) | signal
  __u8 group_dead;   // last thread of the process
  // Killed by SIGSYS (a seccomp kill, inside the syscall's entry, so the
  // syscall has no record): the syscall from the task's registers; -1 else.
  __s64 sigsys_nr;
  __u64 sigsys_args[6];
};

struct gt_step {
  struct gt_header h;
  __u8 is_end;
  __s32 err;
  char step[GT_NAME_LEN * 2];
};

// exec_audit: the state a container's first program starts with, read at
// its exec (sched_process_exec: after the kernel closed O_CLOEXEC fds and
// computed the new credentials).
#define GT_AUDIT_FDS 32     // open fds described (lowest numbers first)
#define GT_AUDIT_FD_SCAN 256  // fd numbers looked at
#define GT_AUDIT_GROUPS 32
#define GT_AUDIT_DEPTH 8    // names per path, leaf first, across mounts
#define GT_RLIMITS 16

struct gt_path {
  __u8 depth;       // names valid, leaf first
  __u8 truncated;   // more components than GT_AUDIT_DEPTH
  __u8 in_root;     // the walk met the task's root (fs->root)
  __u8 at_ns_top;   // the walk met the top of the mount namespace
  char names[GT_AUDIT_DEPTH][GT_NAME_LEN];
};

struct gt_audit_fd {
  __s32 fd;
  __u32 mode;      // i_mode: S_IFMT type and permissions
  __u32 flags;     // f_flags
  __u8 cloexec;
  __u64 ino;
  char fstype[16];
  struct gt_path path;
};

struct gt_audit {
  struct gt_header h;
  __u32 uid, euid, suid, fsuid, gid, egid, sgid, fsgid;  // init user ns view
  __u32 securebits;
  __u32 ngroups;
  __u32 groups[GT_AUDIT_GROUPS];
  __u64 cap_inheritable, cap_permitted, cap_effective, cap_bset, cap_ambient;
  __u8 no_new_privs;
  __u8 dumpable;         // 0 no, 1 yes, 2 root-only (suid_dumpable)
  __s32 seccomp_mode;    // 0 disabled, 1 strict, 2 filter
  __u32 seccomp_filters;
  __u64 rlim[GT_RLIMITS][2];  // cur, max
  // Namespace inodes: the task's pid ns, then nsproxy's, then the cred's user ns.
  __u32 ns_pid, ns_pid_children, ns_mnt, ns_uts, ns_ipc, ns_net, ns_cgroup, ns_time, ns_user;
  __u32 nfds;            // open fds found in the first GT_AUDIT_FD_SCAN numbers
  __u32 fds_described;   // entries valid in fds
  struct gt_path root, cwd;
  struct gt_audit_fd fds[GT_AUDIT_FDS];
};

// Index into the stats array map.
enum gt_stat { GT_STAT_DROPPED = 0, GT_STAT_MAX = 4 };

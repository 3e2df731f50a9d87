#include "decode.h"

#include "syscalls.h"
#include "util/escape.h"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <iterator>
#include <map>

namespace glasstrace {
namespace {

#define VN(x) ValueName{static_cast<uint64_t>(x), #x}

// Values spelled out (not taken from libc headers) where glibc's
// user-space definitions differ from what the kernel sees (O_LARGEFILE) or
// where <sys/mount.h> and <linux/mount.h> cannot both be included.
constexpr ValueName kOpenFlags[] = {
    {0x410000, "O_TMPFILE"}, {04010000, "O_SYNC"}, {0100, "O_CREAT"}, {0200, "O_EXCL"},
    {0400, "O_NOCTTY"}, {01000, "O_TRUNC"}, {02000, "O_APPEND"}, {04000, "O_NONBLOCK"},
    {010000, "O_DSYNC"}, {020000, "O_ASYNC"}, {040000, "O_DIRECT"}, {0100000, "O_LARGEFILE"},
    {0200000, "O_DIRECTORY"}, {0400000, "O_NOFOLLOW"}, {01000000, "O_NOATIME"},
    {02000000, "O_CLOEXEC"}, {010000000, "O_PATH"},
};
constexpr ValueName kOpenAccess[] = {{0, "O_RDONLY"}, {1, "O_WRONLY"}, {2, "O_RDWR"}};

constexpr ValueName kAtFlags[] = {
    {0x100, "AT_SYMLINK_NOFOLLOW"}, {0x200, "AT_REMOVEDIR"}, {0x400, "AT_SYMLINK_FOLLOW"},
    {0x800, "AT_NO_AUTOMOUNT"}, {0x1000, "AT_EMPTY_PATH"}, {0x2000, "AT_STATX_FORCE_SYNC"},
    {0x4000, "AT_STATX_DONT_SYNC"}, {0x8000, "AT_RECURSIVE"},
};

constexpr ValueName kMountFlags[] = {
    {1, "MS_RDONLY"}, {2, "MS_NOSUID"}, {4, "MS_NODEV"}, {8, "MS_NOEXEC"},
    {16, "MS_SYNCHRONOUS"}, {32, "MS_REMOUNT"}, {64, "MS_MANDLOCK"}, {128, "MS_DIRSYNC"},
    {256, "MS_NOSYMFOLLOW"}, {1024, "MS_NOATIME"}, {2048, "MS_NODIRATIME"}, {4096, "MS_BIND"},
    {8192, "MS_MOVE"}, {16384, "MS_REC"}, {32768, "MS_SILENT"}, {1 << 16, "MS_POSIXACL"},
    {1 << 17, "MS_UNBINDABLE"}, {1 << 18, "MS_PRIVATE"}, {1 << 19, "MS_SLAVE"},
    {1 << 20, "MS_SHARED"}, {1 << 21, "MS_RELATIME"}, {1 << 22, "MS_KERNMOUNT"},
    {1 << 23, "MS_I_VERSION"}, {1 << 24, "MS_STRICTATIME"}, {1 << 25, "MS_LAZYTIME"},
};
constexpr uint64_t kMsMgcVal = 0xC0ED0000, kMsMgcMsk = 0xffff0000;

constexpr ValueName kUmountFlags[] = {
    {1, "MNT_FORCE"}, {2, "MNT_DETACH"}, {4, "MNT_EXPIRE"}, {8, "UMOUNT_NOFOLLOW"},
};

// Shared by clone, clone3 and unshare; CLONE_NEWTIME (0x80) only outside clone().
constexpr ValueName kCloneFlags[] = {
    {0x00000100, "CLONE_VM"}, {0x00000200, "CLONE_FS"}, {0x00000400, "CLONE_FILES"},
    {0x00000800, "CLONE_SIGHAND"}, {0x00001000, "CLONE_PIDFD"}, {0x00002000, "CLONE_PTRACE"},
    {0x00004000, "CLONE_VFORK"}, {0x00008000, "CLONE_PARENT"}, {0x00010000, "CLONE_THREAD"},
    {0x00020000, "CLONE_NEWNS"}, {0x00040000, "CLONE_SYSVSEM"}, {0x00080000, "CLONE_SETTLS"},
    {0x00100000, "CLONE_PARENT_SETTID"}, {0x00200000, "CLONE_CHILD_CLEARTID"},
    {0x00400000, "CLONE_DETACHED"}, {0x00800000, "CLONE_UNTRACED"},
    {0x01000000, "CLONE_CHILD_SETTID"}, {0x02000000, "CLONE_NEWCGROUP"},
    {0x04000000, "CLONE_NEWUTS"}, {0x08000000, "CLONE_NEWIPC"}, {0x10000000, "CLONE_NEWUSER"},
    {0x20000000, "CLONE_NEWPID"}, {0x40000000, "CLONE_NEWNET"}, {0x80000000, "CLONE_IO"},
    {0x100000000ULL, "CLONE_CLEAR_SIGHAND"}, {0x200000000ULL, "CLONE_INTO_CGROUP"},
};
constexpr ValueName kNewTime[] = {{0x80, "CLONE_NEWTIME"}};

constexpr ValueName kNamespaces[] = {
    {0x00020000, "mnt"}, {0x02000000, "cgroup"}, {0x04000000, "uts"}, {0x08000000, "ipc"},
    {0x10000000, "user"}, {0x20000000, "pid"}, {0x40000000, "net"}, {0x80, "time"},
};
constexpr ValueName kNsTypes[] = {
    {0x00020000, "CLONE_NEWNS"}, {0x02000000, "CLONE_NEWCGROUP"}, {0x04000000, "CLONE_NEWUTS"},
    {0x08000000, "CLONE_NEWIPC"}, {0x10000000, "CLONE_NEWUSER"}, {0x20000000, "CLONE_NEWPID"},
    {0x40000000, "CLONE_NEWNET"}, {0x80, "CLONE_NEWTIME"},
};

constexpr ValueName kMoveMountFlags[] = {
    {0x01, "MOVE_MOUNT_F_SYMLINKS"}, {0x02, "MOVE_MOUNT_F_AUTOMOUNTS"},
    {0x04, "MOVE_MOUNT_F_EMPTY_PATH"}, {0x10, "MOVE_MOUNT_T_SYMLINKS"},
    {0x20, "MOVE_MOUNT_T_AUTOMOUNTS"}, {0x40, "MOVE_MOUNT_T_EMPTY_PATH"},
    {0x100, "MOVE_MOUNT_SET_GROUP"}, {0x200, "MOVE_MOUNT_BENEATH"},
};
constexpr ValueName kOpenTreeFlags[] = {
    {1, "OPEN_TREE_CLONE"}, {02000000, "OPEN_TREE_CLOEXEC"}, {0x100, "AT_SYMLINK_NOFOLLOW"},
    {0x800, "AT_NO_AUTOMOUNT"}, {0x1000, "AT_EMPTY_PATH"}, {0x8000, "AT_RECURSIVE"},
};
constexpr ValueName kFsconfigCmds[] = {
    {0, "FSCONFIG_SET_FLAG"}, {1, "FSCONFIG_SET_STRING"}, {2, "FSCONFIG_SET_BINARY"},
    {3, "FSCONFIG_SET_PATH"}, {4, "FSCONFIG_SET_PATH_EMPTY"}, {5, "FSCONFIG_SET_FD"},
    {6, "FSCONFIG_CMD_CREATE"}, {7, "FSCONFIG_CMD_RECONFIGURE"}, {8, "FSCONFIG_CMD_CREATE_EXCL"},
};

constexpr ValueName kFsopenFlags[] = {{1, "FSOPEN_CLOEXEC"}};
constexpr ValueName kFsmountFlags[] = {{1, "FSMOUNT_CLOEXEC"}};
// MOUNT_ATTR_RELATIME is 0 (the default of the 0x70 atime field).
constexpr ValueName kMountAttrFlags[] = {
    {0x1, "MOUNT_ATTR_RDONLY"}, {0x2, "MOUNT_ATTR_NOSUID"}, {0x4, "MOUNT_ATTR_NODEV"},
    {0x8, "MOUNT_ATTR_NOEXEC"}, {0x10, "MOUNT_ATTR_NOATIME"}, {0x20, "MOUNT_ATTR_STRICTATIME"},
    {0x80, "MOUNT_ATTR_NODIRATIME"}, {0x100000, "MOUNT_ATTR_IDMAP"}, {0x200000, "MOUNT_ATTR_NOSYMFOLLOW"},
};
constexpr ValueName kPidfdFlags[] = {{04000, "PIDFD_NONBLOCK"}};
constexpr uint64_t kOCreat = 0100, kOTmpfileBit = 020000000;

constexpr ValueName kPrctlOps[] = {
    {1, "PR_SET_PDEATHSIG"}, {2, "PR_GET_PDEATHSIG"}, {3, "PR_GET_DUMPABLE"},
    {4, "PR_SET_DUMPABLE"}, {7, "PR_GET_KEEPCAPS"}, {8, "PR_SET_KEEPCAPS"},
    {15, "PR_SET_NAME"}, {16, "PR_GET_NAME"}, {21, "PR_GET_SECCOMP"}, {22, "PR_SET_SECCOMP"},
    {23, "PR_CAPBSET_READ"}, {24, "PR_CAPBSET_DROP"}, {27, "PR_GET_SECUREBITS"},
    {28, "PR_SET_SECUREBITS"}, {29, "PR_SET_TIMERSLACK"}, {35, "PR_SET_MM"},
    {36, "PR_SET_CHILD_SUBREAPER"}, {37, "PR_GET_CHILD_SUBREAPER"},
    {38, "PR_SET_NO_NEW_PRIVS"}, {39, "PR_GET_NO_NEW_PRIVS"}, {41, "PR_SET_THP_DISABLE"},
    {47, "PR_CAP_AMBIENT"}, {0x59616d61, "PR_SET_PTRACER"}, {0x53564d41, "PR_SET_VMA"},
};
constexpr uint64_t kPrCapbsetRead = 23, kPrCapbsetDrop = 24, kPrCapAmbient = 47;
constexpr ValueName kPrCapAmbientOps[] = {
    {1, "PR_CAP_AMBIENT_IS_SET"}, {2, "PR_CAP_AMBIENT_RAISE"}, {3, "PR_CAP_AMBIENT_LOWER"},
    {4, "PR_CAP_AMBIENT_CLEAR_ALL"},
};
constexpr uint64_t kPrSetDumpable = 4;
constexpr ValueName kDumpable[] = {{0, "SUID_DUMP_DISABLE"}, {1, "SUID_DUMP_USER"}, {2, "SUID_DUMP_ROOT"}};

constexpr ValueName kSeccompOps[] = {
    {0, "SECCOMP_SET_MODE_STRICT"}, {1, "SECCOMP_SET_MODE_FILTER"},
    {2, "SECCOMP_GET_ACTION_AVAIL"}, {3, "SECCOMP_GET_NOTIF_SIZES"},
};

constexpr ValueName kSignals[] = {
    VN(SIGHUP), VN(SIGINT), VN(SIGQUIT), VN(SIGILL), VN(SIGTRAP), VN(SIGABRT), VN(SIGBUS),
    VN(SIGFPE), VN(SIGKILL), VN(SIGUSR1), VN(SIGSEGV), VN(SIGUSR2), VN(SIGPIPE), VN(SIGALRM),
    VN(SIGTERM), VN(SIGSTKFLT), VN(SIGCHLD), VN(SIGCONT), VN(SIGSTOP), VN(SIGTSTP),
    VN(SIGTTIN), VN(SIGTTOU), VN(SIGURG), VN(SIGXCPU), VN(SIGXFSZ), VN(SIGVTALRM),
    VN(SIGPROF), VN(SIGWINCH), VN(SIGIO), VN(SIGPWR), VN(SIGSYS),
};

constexpr ValueName kRlimits[] = {
    {0, "RLIMIT_CPU"}, {1, "RLIMIT_FSIZE"}, {2, "RLIMIT_DATA"}, {3, "RLIMIT_STACK"},
    {4, "RLIMIT_CORE"}, {5, "RLIMIT_RSS"}, {6, "RLIMIT_NPROC"}, {7, "RLIMIT_NOFILE"},
    {8, "RLIMIT_MEMLOCK"}, {9, "RLIMIT_AS"}, {10, "RLIMIT_LOCKS"}, {11, "RLIMIT_SIGPENDING"},
    {12, "RLIMIT_MSGQUEUE"}, {13, "RLIMIT_NICE"}, {14, "RLIMIT_RTPRIO"}, {15, "RLIMIT_RTTIME"},
};

constexpr ValueName kKeyctlOps[] = {
    {0, "KEYCTL_GET_KEYRING_ID"}, {1, "KEYCTL_JOIN_SESSION_KEYRING"}, {2, "KEYCTL_UPDATE"},
    {3, "KEYCTL_REVOKE"}, {4, "KEYCTL_CHOWN"}, {5, "KEYCTL_SETPERM"}, {6, "KEYCTL_DESCRIBE"},
    {7, "KEYCTL_CLEAR"}, {8, "KEYCTL_LINK"}, {9, "KEYCTL_UNLINK"}, {10, "KEYCTL_SEARCH"},
    {11, "KEYCTL_READ"}, {12, "KEYCTL_INSTANTIATE"}, {13, "KEYCTL_NEGATE"},
    {14, "KEYCTL_SET_REQKEY_KEYRING"}, {15, "KEYCTL_SET_TIMEOUT"},
    {16, "KEYCTL_ASSUME_AUTHORITY"}, {17, "KEYCTL_GET_SECURITY"},
    {18, "KEYCTL_SESSION_TO_PARENT"}, {19, "KEYCTL_REJECT"}, {20, "KEYCTL_INSTANTIATE_IOV"},
    {21, "KEYCTL_INVALIDATE"}, {22, "KEYCTL_GET_PERSISTENT"}, {23, "KEYCTL_DH_COMPUTE"},
};

// Index = capability number.
constexpr const char* kCapabilities[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

constexpr ValueName kErrnos[] = {
    VN(EPERM), VN(ENOENT), VN(ESRCH), VN(EINTR), VN(EIO), VN(ENXIO), VN(E2BIG),
    VN(ENOEXEC), VN(EBADF), VN(ECHILD), VN(EAGAIN), VN(ENOMEM), VN(EACCES), VN(EFAULT),
    VN(ENOTBLK), VN(EBUSY), VN(EEXIST), VN(EXDEV), VN(ENODEV), VN(ENOTDIR), VN(EISDIR),
    VN(EINVAL), VN(ENFILE), VN(EMFILE), VN(ENOTTY), VN(ETXTBSY), VN(EFBIG), VN(ENOSPC),
    VN(ESPIPE), VN(EROFS), VN(EMLINK), VN(EPIPE), VN(EDOM), VN(ERANGE), VN(EDEADLK),
    VN(ENAMETOOLONG), VN(ENOLCK), VN(ENOSYS), VN(ENOTEMPTY), VN(ELOOP), VN(ENOMSG),
    VN(EIDRM), VN(ENOSTR), VN(ENODATA), VN(ETIME), VN(ENOSR), VN(ENOLINK), VN(EPROTO),
    VN(EBADMSG), VN(EOVERFLOW), VN(EILSEQ), VN(EUSERS), VN(ENOTSOCK), VN(EDESTADDRREQ),
    VN(EMSGSIZE), VN(EPROTOTYPE), VN(ENOPROTOOPT), VN(EPROTONOSUPPORT), VN(EOPNOTSUPP),
    VN(EAFNOSUPPORT), VN(EADDRINUSE), VN(EADDRNOTAVAIL), VN(ENETDOWN), VN(ENETUNREACH),
    VN(ECONNABORTED), VN(ECONNRESET), VN(ENOBUFS), VN(EISCONN), VN(ENOTCONN),
    VN(ETIMEDOUT), VN(ECONNREFUSED), VN(EHOSTUNREACH), VN(EALREADY), VN(EINPROGRESS),
    VN(ESTALE), VN(EDQUOT), VN(ECANCELED), VN(EOWNERDEAD), VN(ENOTRECOVERABLE),
    VN(ERFKILL), VN(EHWPOISON), VN(ENOKEY), VN(EKEYEXPIRED), VN(EKEYREVOKED),
    VN(EKEYREJECTED), VN(EMEDIUMTYPE),
    {512, "ERESTARTSYS"}, {513, "ERESTARTNOINTR"}, {514, "ERESTARTNOHAND"},
    {515, "ENOIOCTLCMD"}, {516, "ERESTART_RESTARTBLOCK"}, {524, "ENOTSUPP"},
};

using A = ArgKind;
// Argument signatures of the x86_64 syscalls glasstrace decodes. The BPF
// capture plan (which args are strings, what extra to copy) is derived
// from the kinds here, so adding a syscall is one line.
const std::vector<SyscallSignature> kSignatures = {
    {"read", {{"fd", A::Fd}, {"buf", A::Ptr}, {"count", A::Int}}},
    {"write", {{"fd", A::Fd}, {"buf", A::WriteBuf}, {"count", A::Int}}},
    {"pread64", {{"fd", A::Fd}, {"buf", A::Ptr}, {"count", A::Int}, {"offset", A::Int}}},
    {"pwrite64", {{"fd", A::Fd}, {"buf", A::WriteBuf}, {"count", A::Int}, {"offset", A::Int}}},
    {"close", {{"fd", A::Fd}}},
    {"dup", {{"oldfd", A::Fd}}},
    {"dup2", {{"oldfd", A::Fd}, {"newfd", A::Fd}}},
    {"dup3", {{"oldfd", A::Fd}, {"newfd", A::Fd}, {"flags", A::OpenFlags}}},
    {"open", {{"pathname", A::Str}, {"flags", A::OpenFlags}, {"mode", A::Mode}}},
    {"creat", {{"pathname", A::Str}, {"mode", A::Mode}}},
    {"openat", {{"dirfd", A::Dirfd}, {"pathname", A::Str}, {"flags", A::OpenFlags}, {"mode", A::Mode}}},
    {"openat2", {{"dirfd", A::Dirfd}, {"pathname", A::Str}, {"how", A::Ptr}, {"size", A::Int}}},
    {"mkdir", {{"pathname", A::Str}, {"mode", A::Mode}}},
    {"mkdirat", {{"dirfd", A::Dirfd}, {"pathname", A::Str}, {"mode", A::Mode}}},
    {"mknod", {{"pathname", A::Str}, {"mode", A::Mode}, {"dev", A::Hex}}},
    {"mknodat", {{"dirfd", A::Dirfd}, {"pathname", A::Str}, {"mode", A::Mode}, {"dev", A::Hex}}},
    {"unlink", {{"pathname", A::Str}}},
    {"unlinkat", {{"dirfd", A::Dirfd}, {"pathname", A::Str}, {"flags", A::AtFlags}}},
    {"rmdir", {{"pathname", A::Str}}},
    {"symlink", {{"target", A::Str}, {"linkpath", A::Str}}},
    {"symlinkat", {{"target", A::Str}, {"newdirfd", A::Dirfd}, {"linkpath", A::Str}}},
    {"link", {{"oldpath", A::Str}, {"newpath", A::Str}}},
    {"linkat", {{"olddirfd", A::Dirfd}, {"oldpath", A::Str}, {"newdirfd", A::Dirfd}, {"newpath", A::Str}, {"flags", A::AtFlags}}},
    {"rename", {{"oldpath", A::Str}, {"newpath", A::Str}}},
    {"renameat", {{"olddirfd", A::Dirfd}, {"oldpath", A::Str}, {"newdirfd", A::Dirfd}, {"newpath", A::Str}}},
    {"renameat2", {{"olddirfd", A::Dirfd}, {"oldpath", A::Str}, {"newdirfd", A::Dirfd}, {"newpath", A::Str}, {"flags", A::Hex}}},
    {"readlink", {{"pathname", A::Str}, {"buf", A::Ptr}, {"bufsiz", A::Int}}},
    {"readlinkat", {{"dirfd", A::Dirfd}, {"pathname", A::Str}, {"buf", A::Ptr}, {"bufsiz", A::Int}}},
    {"access", {{"pathname", A::Str}, {"mode", A::Int}}},
    {"faccessat", {{"dirfd", A::Dirfd}, {"pathname", A::Str}, {"mode", A::Int}}},
    {"faccessat2", {{"dirfd", A::Dirfd}, {"pathname", A::Str}, {"mode", A::Int}, {"flags", A::AtFlags}}},
    {"stat", {{"pathname", A::Str}, {"statbuf", A::Ptr}}},
    {"lstat", {{"pathname", A::Str}, {"statbuf", A::Ptr}}},
    {"newfstatat", {{"dirfd", A::Dirfd}, {"pathname", A::Str}, {"statbuf", A::Ptr}, {"flags", A::AtFlags}}},
    {"statx", {{"dirfd", A::Dirfd}, {"pathname", A::Str}, {"flags", A::AtFlags}, {"mask", A::Hex}, {"statxbuf", A::Ptr}}},
    {"statfs", {{"path", A::Str}, {"buf", A::Ptr}}},
    {"chmod", {{"pathname", A::Str}, {"mode", A::Mode}}},
    {"fchmodat", {{"dirfd", A::Dirfd}, {"pathname", A::Str}, {"mode", A::Mode}}},
    {"fchmodat2", {{"dirfd", A::Dirfd}, {"pathname", A::Str}, {"mode", A::Mode}, {"flags", A::AtFlags}}},
    {"chown", {{"pathname", A::Str}, {"owner", A::Int}, {"group", A::Int}}},
    {"lchown", {{"pathname", A::Str}, {"owner", A::Int}, {"group", A::Int}}},
    {"fchownat", {{"dirfd", A::Dirfd}, {"pathname", A::Str}, {"owner", A::Int}, {"group", A::Int}, {"flags", A::AtFlags}}},
    {"utimensat", {{"dirfd", A::Dirfd}, {"pathname", A::Str}, {"times", A::Ptr}, {"flags", A::AtFlags}}},
    {"truncate", {{"path", A::Str}, {"length", A::Int}}},
    {"chdir", {{"path", A::Str}}},
    {"fchdir", {{"fd", A::Fd}}},
    {"chroot", {{"path", A::Str}}},
    {"mount", {{"source", A::Str}, {"target", A::Str}, {"filesystemtype", A::Str}, {"mountflags", A::MountFlags}, {"data", A::Str}}},
    {"umount2", {{"target", A::Str}, {"flags", A::UmountFlags}}},
    {"pivot_root", {{"new_root", A::Str}, {"put_old", A::Str}}},
    {"sethostname", {{"name", A::HostName}, {"len", A::Int}}},
    {"setdomainname", {{"name", A::HostName}, {"len", A::Int}}},
    {"execve", {{"pathname", A::Str}, {"argv", A::Argv}, {"envp", A::Ptr}}},
    {"execveat", {{"dirfd", A::Dirfd}, {"pathname", A::Str}, {"argv", A::Argv}, {"envp", A::Ptr}, {"flags", A::AtFlags}}},
    {"move_mount", {{"from_dirfd", A::Dirfd}, {"from_pathname", A::Str}, {"to_dirfd", A::Dirfd}, {"to_pathname", A::Str}, {"flags", A::MoveMountFlags}}},
    {"open_tree", {{"dirfd", A::Dirfd}, {"filename", A::Str}, {"flags", A::OpenTreeFlags}}},
    {"fsopen", {{"fsname", A::Str}, {"flags", A::FsopenFlags}}},
    {"fsconfig", {{"fd", A::Fd}, {"cmd", A::FsconfigCmd}, {"key", A::Str}, {"value", A::Str}, {"aux", A::Int}}},
    {"fsmount", {{"fd", A::Fd}, {"flags", A::FsmountFlags}, {"attr_flags", A::MountAttrFlags}}},
    {"mount_setattr", {{"dirfd", A::Dirfd}, {"pathname", A::Str}, {"flags", A::AtFlags}, {"attr", A::MountAttr}, {"size", A::Int}}},
    {"pidfd_open", {{"pid", A::Int}, {"flags", A::PidfdFlags}}},
    {"clone", {{"flags", A::CloneFlags}, {"stack", A::Ptr}, {"parent_tid", A::Ptr}, {"child_tid", A::Ptr}, {"tls", A::Ptr}}},
    {"clone3", {{"cl_args", A::Clone3Args}, {"size", A::Int}}},
    {"fork", {}},
    {"vfork", {}},
    {"unshare", {{"flags", A::UnshareFlags}}},
    {"setns", {{"fd", A::Fd}, {"nstype", A::NsType}}},
    {"capset", {{"hdrp", A::Ptr}, {"datap", A::CapData}}},
    {"capget", {{"hdrp", A::Ptr}, {"datap", A::Ptr}}},
    {"prctl", {{"option", A::PrctlOp}, {"arg2", A::PrctlArg}, {"arg3", A::Hex}, {"arg4", A::Hex}, {"arg5", A::Hex}}},
    {"seccomp", {{"operation", A::SeccompOp}, {"flags", A::Hex}, {"args", A::Ptr}}},
    {"kill", {{"pid", A::Int}, {"sig", A::Signal}}},
    {"tkill", {{"tid", A::Int}, {"sig", A::Signal}}},
    {"tgkill", {{"tgid", A::Int}, {"tid", A::Int}, {"sig", A::Signal}}},
    {"rt_sigaction", {{"signum", A::Signal}, {"act", A::Ptr}, {"oldact", A::Ptr}, {"sigsetsize", A::Int}}},
    {"rt_sigprocmask", {{"how", A::Int}, {"set", A::Ptr}, {"oldset", A::Ptr}, {"sigsetsize", A::Int}}},
    {"prlimit64", {{"pid", A::Int}, {"resource", A::Rlimit}, {"new_limit", A::Ptr}, {"old_limit", A::Ptr}}},
    {"setrlimit", {{"resource", A::Rlimit}, {"rlim", A::Ptr}}},
    {"getrlimit", {{"resource", A::Rlimit}, {"rlim", A::Ptr}}},
    {"keyctl", {{"operation", A::KeyctlOp}, {"arg2", A::Int}, {"arg3", A::Hex}, {"arg4", A::Hex}, {"arg5", A::Hex}}},
    {"sendmsg", {{"sockfd", A::Fd}, {"msg", A::MsgHdr}, {"flags", A::Hex}}},
    {"recvmsg", {{"sockfd", A::Fd}, {"msg", A::MsgHdr}, {"flags", A::Hex}}},
    {"exit", {{"status", A::Int}}},
    {"exit_group", {{"status", A::Int}}},
    {"wait4", {{"pid", A::Int}, {"wstatus", A::Ptr}, {"options", A::Hex}, {"rusage", A::Ptr}}},
    {"setuid", {{"uid", A::Int}}},
    {"setgid", {{"gid", A::Int}}},
    {"setresuid", {{"ruid", A::Int}, {"euid", A::Int}, {"suid", A::Int}}},
    {"setresgid", {{"rgid", A::Int}, {"egid", A::Int}, {"sgid", A::Int}}},
    {"setgroups", {{"size", A::Int}, {"list", A::Ptr}}},
    {"ioctl", {{"fd", A::Fd}, {"request", A::Hex}, {"arg", A::Hex}}},
    {"fcntl", {{"fd", A::Fd}, {"cmd", A::Int}, {"arg", A::Hex}}},
    {"socket", {{"domain", A::Int}, {"type", A::Hex}, {"protocol", A::Int}}},
    {"socketpair", {{"domain", A::Int}, {"type", A::Hex}, {"protocol", A::Int}, {"sv", A::Ptr}}},
    {"getdents64", {{"fd", A::Fd}, {"dirp", A::Ptr}, {"count", A::Int}}},
    {"lseek", {{"fd", A::Fd}, {"offset", A::Int}, {"whence", A::Int}}},
    {"mmap", {{"addr", A::Ptr}, {"length", A::Int}, {"prot", A::Hex}, {"flags", A::Hex}, {"fd", A::Fd}, {"offset", A::Hex}}},
    {"munmap", {{"addr", A::Ptr}, {"length", A::Int}}},
    {"mprotect", {{"addr", A::Ptr}, {"length", A::Int}, {"prot", A::Hex}}},
    {"brk", {{"addr", A::Ptr}}},
    {"getpid", {}}, {"getppid", {}}, {"gettid", {}}, {"getuid", {}}, {"geteuid", {}},
    {"getgid", {}}, {"getegid", {}}, {"sched_yield", {}}, {"setsid", {}},
};


}  // namespace

const SyscallSignature* signature_of(std::string_view syscall) {
  static const std::map<std::string, const SyscallSignature*, std::less<>> index = [] {
    std::map<std::string, const SyscallSignature*, std::less<>> m;
    for (const auto& s : kSignatures) m.emplace(s.name, &s);
    return m;
  }();
  auto it = index.find(syscall);
  return it == index.end() ? nullptr : it->second;
}

const SyscallSignature* signature_of_nr(long nr) {
  static const std::vector<const SyscallSignature*> by_nr = [] {
    std::vector<const SyscallSignature*> v(syscall_max_nr() + 1, nullptr);
    for (long n = 0; n <= syscall_max_nr(); n++) v[n] = signature_of(syscall_name(n));
    return v;
  }();
  return nr >= 0 && static_cast<std::size_t>(nr) < by_nr.size() ? by_nr[nr] : nullptr;
}

std::string flags_text(uint64_t v, std::span<const ValueName> table, const char* zero) {
  if (v == 0) return zero;
  std::string out;  // one string, appended to: a few allocations less per flag argument
  uint64_t rest = v;
  for (const auto& f : table)
    if (f.value && (rest & f.value) == f.value) {
      if (!out.empty()) out += '|';
      out += f.name;
      rest &= ~f.value;
    }
  if (rest) {
    if (!out.empty()) out += '|';
    fmt::format_to(std::back_inserter(out), "{:#x}", rest);
  }
  return out;
}

std::string value_text(uint64_t v, std::span<const ValueName> table) {
  for (const auto& e : table)
    if (e.value == v) return e.name;
  return std::to_string(static_cast<int64_t>(v));
}

std::string open_flags_text(uint64_t v) {
  std::string mode = value_text(v & 3, kOpenAccess);
  uint64_t rest = v & ~uint64_t{3};
  return rest ? mode + "|" + flags_text(rest, kOpenFlags) : mode;
}
std::string at_flags_text(uint64_t v) { return flags_text(v, kAtFlags); }
std::string mount_flags_text(uint64_t v) {
  // MS_MGC_VAL in the top half is a legacy magic, not a flag.
  if ((v & kMsMgcMsk) == kMsMgcVal) {
    uint64_t rest = v & ~kMsMgcMsk;
    return rest ? "MS_MGC_VAL|" + flags_text(rest, kMountFlags) : "MS_MGC_VAL";
  }
  return flags_text(v, kMountFlags);
}
std::string umount_flags_text(uint64_t v) { return flags_text(v, kUmountFlags); }
std::string clone_flags_text(uint64_t v) {
  uint64_t sig = v & 0xff, rest = v & ~uint64_t{0xff};
  std::string out = rest ? flags_text(rest, kCloneFlags) : "";
  if (sig) out += (out.empty() ? "" : "|") + signal_text(sig);
  return out.empty() ? "0" : out;
}
std::string unshare_flags_text(uint64_t v) {
  std::string out = flags_text(v & ~uint64_t{0x80}, kCloneFlags, "");
  if (v & 0x80) out += (out.empty() ? "" : "|") + std::string(kNewTime[0].name);
  return out.empty() ? "0" : out;
}
std::string nstype_text(uint64_t v) { return flags_text(v, kNsTypes); }
std::string prctl_option_text(uint64_t v) { return value_text(v, kPrctlOps); }
std::string seccomp_op_text(uint64_t v) { return value_text(v, kSeccompOps); }
std::string signal_text(uint64_t v) {
  if (v >= 32 && v <= 64) return fmt::format("SIGRT_{}", v - 32);
  return value_text(v, kSignals);
}
std::string rlimit_text(uint64_t v) { return value_text(v, kRlimits); }
std::string keyctl_op_text(uint64_t v) { return value_text(v, kKeyctlOps); }
std::string move_mount_flags_text(uint64_t v) { return flags_text(v, kMoveMountFlags); }
std::string open_tree_flags_text(uint64_t v) { return flags_text(v, kOpenTreeFlags); }
std::string fsconfig_cmd_text(uint64_t v) { return value_text(v, kFsconfigCmds); }
std::string fsopen_flags_text(uint64_t v) { return flags_text(v, kFsopenFlags); }
std::string fsmount_flags_text(uint64_t v) { return flags_text(v, kFsmountFlags); }
std::string mount_attr_flags_text(uint64_t v) { return flags_text(v, kMountAttrFlags); }
std::string pidfd_flags_text(uint64_t v) { return flags_text(v, kPidfdFlags); }
bool open_flags_use_mode(uint64_t flags) { return flags & (kOCreat | kOTmpfileBit); }

std::string capability_name(unsigned cap) {
  if (cap < std::size(kCapabilities)) return kCapabilities[cap];
  return fmt::format("CAP_{}", cap);
}

std::vector<std::string> capability_names(uint64_t set) {
  std::vector<std::string> out;
  for (unsigned c = 0; c < 64; c++)
    if (set & (uint64_t{1} << c)) out.push_back(capability_name(c));
  return out;
}

std::optional<uint64_t> clone_flag_value(std::string_view name) {
  for (const auto& f : kCloneFlags)
    if (name == f.name) return f.value;
  if (name == kNewTime[0].name) return kNewTime[0].value;
  return std::nullopt;
}

bool is_prctl_cap_option(uint64_t option) {
  return option == kPrCapbsetRead || option == kPrCapbsetDrop;
}

std::optional<std::string> prctl_arg2_text(uint64_t option, uint64_t v) {
  if (is_prctl_cap_option(option)) return capability_name(static_cast<unsigned>(v));
  if (option == kPrCapAmbient) return value_text(v, kPrCapAmbientOps);
  if (option == kPrSetDumpable) return value_text(v, kDumpable);
  return std::nullopt;
}

std::string errno_name(int err) {
  for (const auto& e : kErrnos)
    if (e.value == static_cast<uint64_t>(err)) return e.name;
  return fmt::format("E{}", err);
}

std::optional<int> errno_value(std::string_view name) {
  for (const auto& e : kErrnos)
    if (name == e.name) return static_cast<int>(e.value);
  return std::nullopt;
}

std::vector<std::string> namespace_names(uint64_t v) {
  std::vector<std::string> out;
  for (const auto& n : kNamespaces)
    if (v & n.value) out.emplace_back(n.name);
  return out;
}

std::string c_escape(std::string_view bytes) { return glassrun::c_escape(bytes); }

}  // namespace glasstrace

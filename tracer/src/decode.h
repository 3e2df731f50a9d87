// Decoding tables: flag sets, enum values, capability, errno and signal
// names, and per-syscall argument signatures. All of it is data; the
// functions here only walk the tables.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace glasstrace {

struct ValueName {
  uint64_t value;
  const char* name;
};

// How an argument is shown, both in the "decoded" JSON object and by the
// strace renderer.
enum class ArgKind {
  Int,           // signed decimal
  Hex,           // 0x...
  Ptr,           // NULL or 0x...
  Fd,            // decimal
  Dirfd,         // AT_FDCWD or decimal
  Mode,          // octal
  Str,           // user string copied at enter
  HostName,      // user string, length in the next arg
  Argv,          // execve argv copied at enter
  WriteBuf,      // first bytes written, plus the fd's path
  CapData,       // capset data: effective/permitted/inheritable names
  Clone3Args,    // struct clone_args: flags and exit_signal
  MsgHdr,        // SCM_RIGHTS fds counted at exit
  MountAttr,     // struct mount_attr: attr_set/attr_clr/propagation/userns_fd
  OpenFlags, AtFlags, MountFlags, UmountFlags, CloneFlags, UnshareFlags,
  NsType, MoveMountFlags, OpenTreeFlags, FsconfigCmd,
  FsopenFlags, FsmountFlags, MountAttrFlags, PidfdFlags,
  PrctlOp, PrctlArg,  // PrctlArg: a capability for PR_CAPBSET_*, else Int
  SeccompOp, Signal, Rlimit, KeyctlOp,
};

struct ArgSpec {
  std::string_view name;  // a literal: its length known, no strlen per decoded argument
  ArgKind kind;
};

struct SyscallSignature {
  const char* name;
  std::vector<ArgSpec> args;
};

// nullptr when the syscall has no signature (renderers then show raw args).
const SyscallSignature* signature_of(std::string_view syscall);
const SyscallSignature* signature_of_nr(long nr);  // the same by x86_64 number

// Flag sets: names joined by '|', leftover bits as 0x..., zero as `zero`.
std::string flags_text(uint64_t v, std::span<const ValueName> table, const char* zero = "0");
// Single value: its name or the decimal number.
std::string value_text(uint64_t v, std::span<const ValueName> table);

std::string open_flags_text(uint64_t v);
std::string at_flags_text(uint64_t v);
std::string mount_flags_text(uint64_t v);
std::string umount_flags_text(uint64_t v);
std::string clone_flags_text(uint64_t v);    // clone(): low byte is the exit signal
std::string unshare_flags_text(uint64_t v);  // unshare()/clone3(): no signal byte
std::string nstype_text(uint64_t v);
std::string prctl_option_text(uint64_t v);
std::string seccomp_op_text(uint64_t v);
std::string signal_text(uint64_t v);
std::string rlimit_text(uint64_t v);
std::string keyctl_op_text(uint64_t v);
std::string move_mount_flags_text(uint64_t v);
std::string open_tree_flags_text(uint64_t v);
std::string fsconfig_cmd_text(uint64_t v);
std::string fsopen_flags_text(uint64_t v);
std::string fsmount_flags_text(uint64_t v);
std::string mount_attr_flags_text(uint64_t v);  // MOUNT_ATTR_*
std::string pidfd_flags_text(uint64_t v);
// open/openat/openat2 read their mode only with O_CREAT or O_TMPFILE.
bool open_flags_use_mode(uint64_t flags);
std::string capability_name(unsigned cap);
std::vector<std::string> capability_names(uint64_t set);
std::optional<uint64_t> clone_flag_value(std::string_view name);
bool is_prctl_cap_option(uint64_t option);
// prctl's arg2 by name where the option gives it one (a capability, an ambient op).
std::optional<std::string> prctl_arg2_text(uint64_t option, uint64_t v);  // PR_CAPBSET_READ/DROP: arg2 is a capability

std::string errno_name(int err);              // "EPERM", or "E<n>"
std::optional<int> errno_value(std::string_view name);

// Namespace names ("mnt", "pid", ...) of the CLONE_NEW* bits in v.
std::vector<std::string> namespace_names(uint64_t v);

// C-style escaping for strings shown in JSON and strace output.
std::string c_escape(std::string_view bytes);

}  // namespace glasstrace

#include "record.h"

#include <fmt/format.h>

#include <csignal>
#include <cstddef>
#include <cstring>
#include <string>

#include "audit.h"
#include "decode.h"
#include "events.h"
#include "syscalls.h"

namespace glasstrace {
namespace {

std::string bounded(const char* s, std::size_t cap) { return std::string(s, strnlen(s, cap)); }

int64_t as_int(uint64_t v) {
  // 32-bit int arguments arrive zero-extended in 64-bit registers.
  if (v > 0x7fffffffULL && v <= 0xffffffffULL) return static_cast<int32_t>(v);
  return static_cast<int64_t>(v);
}

// Path of an fd from the dentry names the BPF side walked (leaf first).
// The walk does not cross mounts: the path is within the file's filesystem.
std::string fd_path(const gt_sys_enter_full& f) {
  uint32_t depth = std::min<uint32_t>(f.path_depth, GT_PATH_DEPTH);
  if (depth == 0) return "";
  std::string out;
  bool reached_root = bounded(f.path_names[depth - 1], GT_NAME_LEN) == "/";
  for (int i = static_cast<int>(depth) - (reached_root ? 2 : 1); i >= 0; i--)
    out += "/" + bounded(f.path_names[i], GT_NAME_LEN);
  if (out.empty()) out = "/";
  return reached_root ? out : "..." + out;
}

// The string of args[arg], if the record (of `size` bytes) carries its slot.
Json string_slot(const gt_sys_enter_full* f, std::size_t size, int arg) {
  if (!f) return nullptr;
  for (int s = 0; s < GT_NSTR; s++)
    if (f->str_arg[s] == arg && offsetof(gt_sys_enter_full, strs) + (s + 1) * GT_STR_LEN <= size)
      return bounded(f->strs[s], GT_STR_LEN);
  return nullptr;
}

bool is_error_return(int64_t ret) { return ret < 0 && ret >= -4095; }

// rt_sigreturn restores the interrupted context, orig_ax included (-1: no
// syscall to restart), so its exit record carries nr -1.
bool exit_matches(int64_t entry_nr, int64_t exit_nr) {
  static const long sigreturn = syscall_nr("rt_sigreturn").value_or(-2);
  return entry_nr == exit_nr || (exit_nr == -1 && entry_nr == sigreturn);
}

}  // namespace

Json task_fields(const gt_header& h) {
  const gt_task& t = h.task;
  return Json{{"v", 1},          {"type", ""},          {"ts", t.ts},
              {"pid", t.pid},    {"tid", t.tid},        {"ns_pid", t.ns_pid},
              {"ns_tid", t.ns_tid}, {"comm", bounded(t.comm, GT_COMM_LEN)},
              {"mntns", t.mntns}, {"pidns", t.pidns},   {"cgroup", t.cgroup}};
}

Json decode_args(const gt_sys_enter& e, std::size_t size) {
  Json d = Json::object();
  const SyscallSignature* sig = signature_of(syscall_name(e.nr));
  if (!sig) return d;
  // A full record is sent only as far as its plan fills it (events.h).
  const gt_sys_enter_full* f = e.has_payload && size >= offsetof(gt_sys_enter_full, strs)
                                   ? reinterpret_cast<const gt_sys_enter_full*>(&e)
                                   : nullptr;
  bool has_argv = size >= sizeof(gt_sys_enter_full);
  for (std::size_t i = 0; i < sig->args.size() && i < 6; i++) {
    const ArgSpec& a = sig->args[i];
    uint64_t v = e.args[i];
    switch (a.kind) {
      case ArgKind::Int: d[a.name] = as_int(v); break;
      case ArgKind::Fd: d[a.name] = static_cast<int32_t>(v); break;
      case ArgKind::Dirfd:
        if (static_cast<int32_t>(v) == -100) d[a.name] = "AT_FDCWD";
        else d[a.name] = static_cast<int32_t>(v);
        break;
      case ArgKind::Hex: case ArgKind::Ptr: break;  // the raw args say it all
      case ArgKind::Mode: d[a.name] = fmt::format("{:#o}", v); break;
      case ArgKind::Str: d[a.name] = v ? string_slot(f, size, i) : Json(nullptr); break;
      case ArgKind::HostName: {
        Json s = string_slot(f, size, i);
        if (s.is_string() && i + 1 < 6) s = s.get<std::string>().substr(0, e.args[i + 1]);
        d[a.name] = s;
        break;
      }
      case ArgKind::Argv: {
        Json argv = Json::array();
        if (f && has_argv)
          for (uint32_t k = 0; k < std::min<uint32_t>(f->argc, GT_ARGV_N); k++)
            argv.push_back(bounded(f->argv[k], GT_ARGV_LEN));
        d[a.name] = argv;
        break;
      }
      case ArgKind::WriteBuf:
        if (f) {
          d[a.name] = c_escape(std::string_view(reinterpret_cast<const char*>(f->data),
                                                std::min<uint32_t>(f->data_len, GT_DATA_LEN)));
          std::string p = fd_path(*f);
          d["fd_path"] = p.empty() ? Json(nullptr) : Json(p);
        }
        break;
      case ArgKind::CapData:
        if (f && f->data_len >= 24) {
          uint32_t w[6];
          std::memcpy(w, f->data, sizeof(w));
          auto set = [&](int k) { return capability_names(w[k] | (uint64_t{w[k + 3]} << 32)); };
          d[a.name] = Json{{"effective", set(0)}, {"permitted", set(1)}, {"inheritable", set(2)}};
        }
        break;
      case ArgKind::Clone3Args:
        if (f && f->data_len >= 40) {
          uint64_t flags, exit_signal;
          std::memcpy(&flags, f->data, 8);
          std::memcpy(&exit_signal, f->data + 32, 8);
          d["flags"] = unshare_flags_text(flags);
          d["exit_signal"] = signal_text(exit_signal);
        }
        break;
      case ArgKind::MountAttr:
        if (f && f->data_len >= 32) {
          uint64_t w[4];  // attr_set, attr_clr, propagation, userns_fd
          std::memcpy(w, f->data, sizeof(w));
          d[a.name] = Json{{"attr_set", mount_attr_flags_text(w[0])}, {"attr_clr", mount_attr_flags_text(w[1])},
                           {"propagation", mount_flags_text(w[2])}, {"userns_fd", w[3]}};
        }
        break;
      case ArgKind::MsgHdr: break;  // scm_rights is added at exit
      case ArgKind::OpenFlags: d[a.name] = open_flags_text(v); break;
      case ArgKind::AtFlags: d[a.name] = at_flags_text(v); break;
      case ArgKind::MountFlags: d[a.name] = mount_flags_text(v); break;
      case ArgKind::UmountFlags: d[a.name] = umount_flags_text(v); break;
      case ArgKind::CloneFlags: d[a.name] = clone_flags_text(v); break;
      case ArgKind::UnshareFlags: d[a.name] = unshare_flags_text(v); break;
      case ArgKind::NsType: d[a.name] = nstype_text(v); break;
      case ArgKind::MoveMountFlags: d[a.name] = move_mount_flags_text(v); break;
      case ArgKind::OpenTreeFlags: d[a.name] = open_tree_flags_text(v); break;
      case ArgKind::FsconfigCmd: d[a.name] = fsconfig_cmd_text(v); break;
      case ArgKind::FsopenFlags: d[a.name] = fsopen_flags_text(v); break;
      case ArgKind::FsmountFlags: d[a.name] = fsmount_flags_text(v); break;
      case ArgKind::MountAttrFlags: d[a.name] = mount_attr_flags_text(v); break;
      case ArgKind::PidfdFlags: d[a.name] = pidfd_flags_text(v); break;
      case ArgKind::PrctlOp: d[a.name] = prctl_option_text(v); break;
      case ArgKind::PrctlArg:
        if (auto text = prctl_arg2_text(e.args[0], v)) d[a.name] = *text;
        else d[a.name] = as_int(v);
        break;
      case ArgKind::SeccompOp: d[a.name] = seccomp_op_text(v); break;
      case ArgKind::Signal: d[a.name] = signal_text(v); break;
      case ArgKind::Rlimit: d[a.name] = rlimit_text(v); break;
      case ArgKind::KeyctlOp: d[a.name] = keyctl_op_text(v); break;
    }
  }
  return d;
}

void Recorder::emit(const Json& e) {
  events_++;
  sink_(e);
}

bool Recorder::on_record(const void* data, std::size_t size) {
  if (size < sizeof(gt_header)) return false;
  const auto* h = static_cast<const gt_header*>(data);
  if (h->size > size) return false;
  switch (h->kind) {
    case GT_SYS_ENTER:
      if (size < sizeof(gt_sys_enter)) return false;
      on_enter(*static_cast<const gt_sys_enter*>(data), size);
      return true;
    case GT_SYS_EXIT: on_exit_of_syscall(data); return true;
    case GT_FORK: on_fork(data); return true;
    case GT_EXEC: on_exec(data); return true;
    case GT_EXIT: on_task_exit(data); return true;
    case GT_STEP: on_step(data); return true;
    case GT_AUDIT:
      if (size < sizeof(gt_audit)) return false;
      emit(audit_event(*static_cast<const gt_audit*>(data)));
      return true;
  }
  return false;
}

void Recorder::on_enter(const gt_sys_enter& e, std::size_t size) {
  uint32_t tid = e.h.task.tid;
  flush_incomplete(tid);  // a previous syscall of this thread never returned
  Json j = task_fields(e.h);
  j["type"] = "syscall";
  j["nr"] = e.nr;
  j["name"] = syscall_name(e.nr);
  j["args"] = Json::array();
  for (uint64_t a : e.args) j["args"].push_back(a);
  j["decoded"] = decode_args(e, size);
  pending_[tid] = Pending{std::move(j), e.nr, e.h.task.ts};
}

void Recorder::on_exit_of_syscall(const void* data) {
  const auto& x = *static_cast<const gt_sys_exit*>(data);
  auto it = pending_.find(x.h.task.tid);
  if (it == pending_.end() || !exit_matches(it->second.nr, x.nr)) {
    // No entry: refused by seccomp before the sys_enter tracepoint (an error
    // return, whose args came with the exit), or entered before we attached.
    // orig_ax -1: no syscall (a signal return's restart path).
    if (x.h.size >= sizeof(gt_sys_exit_err) && x.nr >= 0) {
      const auto& xe = *static_cast<const gt_sys_exit_err*>(data);
      Json j = entryless_syscall(x.h, x.nr, xe.args);
      j["ret"] = x.ret;
      j["errno"] = errno_name(static_cast<int>(-x.ret));
      j["complete"] = true;
      syscalls_++;
      emit(j);
    } else {
      unpaired_exits_++;
    }
    return;
  }
  Json j = std::move(it->second.event);
  pending_.erase(it);
  j["ret"] = x.ret;
  j["errno"] = is_error_return(x.ret) ? Json(errno_name(static_cast<int>(-x.ret))) : Json(nullptr);
  j["dur_ns"] = x.h.task.ts - j["ts"].get<uint64_t>();
  j["complete"] = true;
  if (x.scm_rights >= 0) j["decoded"]["scm_rights"] = x.scm_rights;
  syscalls_++;
  emit(j);
}

void Recorder::flush_incomplete(uint32_t tid) {
  auto it = pending_.find(tid);
  if (it == pending_.end()) return;
  Json j = std::move(it->second.event);
  pending_.erase(it);
  j["ret"] = nullptr;
  j["errno"] = nullptr;
  j["dur_ns"] = nullptr;
  j["complete"] = false;
  syscalls_++;
  emit(j);
}

void Recorder::on_fork(const void* data) {
  const auto& f = *static_cast<const gt_fork*>(data);
  Json j = task_fields(f.h);
  j["type"] = "fork";
  j["child_pid"] = f.child_pid;
  j["child_tid"] = f.child_tid;
  j["child_ns_pid"] = f.child_ns_pid;
  j["child_ns_tid"] = f.child_ns_tid;
  j["child_pidns"] = f.child_pidns;
  j["thread"] = f.child_pid == f.h.task.pid;
  // Clone flags come from the parent's syscall still in flight.
  Json syscall = nullptr, flags = nullptr;
  if (auto it = pending_.find(f.h.task.tid); it != pending_.end()) {
    const Json& p = it->second.event;
    syscall = p["name"];
    if (p["name"] == "clone") flags = clone_flags_text(p["args"][0].get<uint64_t>());
    else if (p["name"] == "clone3" && p["decoded"].contains("flags")) flags = p["decoded"]["flags"];
    else if (p["name"] == "fork") flags = "SIGCHLD";
    else if (p["name"] == "vfork") flags = "CLONE_VM|CLONE_VFORK|SIGCHLD";
  }
  j["syscall"] = syscall;
  j["flags"] = flags;
  emit(j);
  if (!j["thread"].get<bool>() && on_process_start) on_process_start(f.child_pid);
}

void Recorder::on_exec(const void* data) {
  const auto& x = *static_cast<const gt_exec*>(data);
  // A non-leader thread that execs takes over the leader's tid.
  if (x.old_tid != x.h.task.tid) {
    if (auto it = pending_.find(x.old_tid); it != pending_.end()) {
      pending_[x.h.task.tid] = std::move(it->second);
      pending_.erase(x.old_tid);
    }
  }
  Json j = task_fields(x.h);
  j["type"] = "exec";
  j["old_tid"] = x.old_tid;
  j["filename"] = bounded(x.filename, GT_STR_LEN);
  Json argv = Json::array();
  std::size_t len = std::min<std::size_t>(x.args_len, GT_EXEC_ARGS_LEN);
  for (std::size_t pos = 0; pos < len;) {
    std::size_t n = strnlen(x.args + pos, len - pos);
    argv.push_back(std::string(x.args + pos, n));
    pos += n + 1;
  }
  j["argv"] = argv;
  emit(j);
}

// A syscall known from its exit (or its thread's SIGSYS death) only: raw
// args, no strings (they are read at entry).
Json Recorder::entryless_syscall(const gt_header& h, int64_t nr, const __u64* args) {
  gt_sys_enter e{};
  e.h = h;
  e.nr = nr;
  for (int i = 0; i < 6; i++) e.args[i] = args[i];
  Json j = task_fields(h);
  j["type"] = "syscall";
  j["nr"] = nr;
  j["name"] = syscall_name(nr);
  j["args"] = Json::array();
  for (int i = 0; i < 6; i++) j["args"].push_back(args[i]);
  j["decoded"] = decode_args(e, sizeof e);
  j["ret"] = nullptr;
  j["errno"] = nullptr;
  j["dur_ns"] = nullptr;
  j["complete"] = false;
  j["entry_seen"] = false;
  return j;
}

void Recorder::on_task_exit(const void* data) {
  const auto& x = *static_cast<const gt_exit*>(data);
  flush_incomplete(x.h.task.tid);  // exit/exit_group never return
  if ((x.exit_code & 0x7f) == SIGSYS && x.sigsys_nr >= 0) {  // a seccomp kill inside the syscall entry
    syscalls_++;
    emit(entryless_syscall(x.h, x.sigsys_nr, x.sigsys_args));
  }
  Json j = task_fields(x.h);
  j["type"] = "exit";
  j["status"] = x.exit_code;
  int sig = x.exit_code & 0x7f;
  j["exit_code"] = sig ? Json(nullptr) : Json((x.exit_code >> 8) & 0xff);
  j["signal"] = sig ? Json(signal_text(sig)) : Json(nullptr);
  j["core_dumped"] = (x.exit_code & 0x80) != 0;
  j["group_dead"] = x.group_dead != 0;
  emit(j);
  if (x.group_dead && on_process_gone) on_process_gone(x.h.task.pid);
}

void Recorder::on_step(const void* data) {
  const auto& s = *static_cast<const gt_step*>(data);
  Json j = task_fields(s.h);
  j["type"] = "step";
  j["phase"] = s.is_end ? "end" : "begin";
  j["name"] = bounded(s.step, sizeof(s.step));
  j["err"] = s.err;
  emit(j);
}

void Recorder::finish() {
  while (!pending_.empty()) flush_incomplete(pending_.begin()->first);
}

}  // namespace glasstrace

#include "record.h"

#include <fmt/format.h>

#include <csignal>
#include <cstddef>
#include <cstring>
#include <string>

#include "audit.h"
#include "decode.h"
#include "enter_text.h"
#include "events.h"
#include "syscalls.h"

namespace glasstrace {
namespace {

std::string_view bounded(const char* s, std::size_t cap) { return std::string_view(s, strnlen(s, cap)); }

int64_t as_int(uint64_t v) {
  // 32-bit int arguments arrive zero-extended in 64-bit registers.
  if (v > 0x7fffffffULL && v <= 0xffffffffULL) return static_cast<int32_t>(v);
  return static_cast<int64_t>(v);
}

// Path of an fd from the dentry names the BPF side walked (leaf first).
// The walk does not cross mounts: the path is within the file's filesystem.
std::string fd_path(std::span<const std::string_view> names) {
  if (names.empty()) return "";
  bool reached_root = names.back() == "/";
  std::string out = reached_root ? "" : "...";
  for (int i = static_cast<int>(names.size()) - (reached_root ? 2 : 1); i >= 0; i--) out.append("/").append(names[i]);
  if (out.empty()) out.push_back('/');
  return out;
}

void write_optional(JsonLine& out, const std::optional<std::string_view>& s) {
  if (s) out.value(*s);
  else out.value(nullptr);
}

void write_names(JsonLine& out, const std::vector<std::string>& names) {
  out.begin_array();
  for (const auto& n : names) out.value(n);
  out.end_array();
}

// The full record an enter record is, if it carries a payload.
const gt_sys_enter_full* full_record(const gt_sys_enter& e, std::size_t size) {
  // A full record is sent only as far as its text goes (events.h).
  return e.has_payload && size >= offsetof(gt_sys_enter_full, text) ? reinterpret_cast<const gt_sys_enter_full*>(&e)
                                                                    : nullptr;
}

// clone3's flags from its copied struct clone_args.
std::optional<uint64_t> clone3_flags(const gt_sys_enter_full* f) {
  if (!f || f->data_len < 40) return std::nullopt;
  uint64_t flags;
  std::memcpy(&flags, f->data, 8);
  return flags;
}

bool is_error_return(int64_t ret) { return ret < 0 && ret >= -4095; }

// rt_sigreturn restores the interrupted context, orig_ax included (-1: no
// syscall to restart), so its exit record carries nr -1.
bool exit_matches(int64_t entry_nr, int64_t exit_nr) {
  static const long sigreturn = syscall_nr("rt_sigreturn").value_or(-2);
  return entry_nr == exit_nr || (exit_nr == -1 && entry_nr == sigreturn);
}

// write_task_fields' members after "ts": the same for every record of a task
// until its comm, namespaces or cgroup change.
void write_task_tail(JsonLine& out, const gt_task& t) {
  out.member("pid", t.pid).member("tid", t.tid);
  out.member("ns_pid", t.ns_pid).member("ns_tid", t.ns_tid);
  out.key("comm").value(bounded(t.comm, GT_COMM_LEN));
  out.member("mntns", t.mntns).member("pidns", t.pidns).member("cgroup", t.cgroup);
}

// write_task_fields' members up to "ts", which changes with every record.
JsonLine& write_task_head(JsonLine& out, const gt_header& h, std::string_view type) {
  return out.member("v", 1).member("type", type).member("ts", h.task.ts);
}
}  // namespace

void write_task_fields(JsonLine& out, const gt_header& h, std::string_view type) {
  write_task_tail(write_task_head(out, h, type), h.task);
}

void TaskFieldsCache::write(JsonLine& out, const gt_header& h, std::string_view type) {
  gt_task key = h.task;
  key.ts = 0;
  Entry& e = entries_[key.tid % entries_.size()];
  if (!e.used || std::memcmp(&e.key, &key, sizeof key) != 0) {
    scratch_.clear();
    write_task_tail(scratch_.begin_object(), key);
    e.tail.assign(scratch_.text().substr(1));  // without the '{'
    e.key = key;
    e.used = true;
  }
  write_task_head(out, h, type).raw(e.tail);
}

Json task_fields(const gt_header& h) {
  JsonLine out;
  out.begin_object();
  write_task_fields(out, h, "");
  return Json::parse(out.end_object().text());
}

Json decode_args(const gt_sys_enter& e, std::size_t size) {
  JsonLine out;
  out.begin_object();
  write_decoded_args(out, e, size);
  return Json::parse(out.end_object().text());
}

void write_decoded_args(JsonLine& d, const gt_sys_enter& e, std::size_t size) {
  const SyscallSignature* sig = signature_of_nr(e.nr);
  if (!sig) return;
  const gt_sys_enter_full* f = full_record(e, size);
  std::optional<EnterText> text;
  if (f) text.emplace(*f, size);
  auto string_slot = [&](int arg) { return text ? text->slot(arg) : std::nullopt; };
  for (std::size_t i = 0; i < sig->args.size() && i < 6; i++) {
    const ArgSpec& a = sig->args[i];
    uint64_t v = e.args[i];
    switch (a.kind) {
      case ArgKind::Int: d.member(a.name, as_int(v)); break;
      case ArgKind::Fd: d.member(a.name, static_cast<int32_t>(v)); break;
      case ArgKind::Dirfd:
        if (static_cast<int32_t>(v) == -100) d.member(a.name, "AT_FDCWD");
        else d.member(a.name, static_cast<int32_t>(v));
        break;
      case ArgKind::Hex: case ArgKind::Ptr: break;  // the raw args say it all
      case ArgKind::Mode: d.member(a.name, fmt::format("{:#o}", v)); break;
      case ArgKind::Str:
        d.key(a.name);
        write_optional(d, v ? string_slot(i) : std::nullopt);
        break;
      case ArgKind::HostName: {
        auto s = string_slot(i);
        if (s && i + 1 < 6) s = s->substr(0, e.args[i + 1]);
        d.key(a.name);
        write_optional(d, s);
        break;
      }
      case ArgKind::Argv:
        d.key(a.name).begin_array();
        if (text)
          for (std::string_view a : text->argv()) d.value(a);
        d.end_array();
        break;
      case ArgKind::WriteBuf:
        if (f) {
          d.member(a.name, c_escape(std::string_view(reinterpret_cast<const char*>(f->data),
                                                     std::min<uint32_t>(f->data_len, GT_DATA_LEN))));
          std::string p = fd_path(text->path_names());
          d.key("fd_path");
          write_optional(d, p.empty() ? std::nullopt : std::optional<std::string_view>(p));
        }
        break;
      case ArgKind::CapData:
        if (f && f->data_len >= 24) {
          uint32_t w[6];
          std::memcpy(w, f->data, sizeof(w));
          auto set = [&](int k) { return capability_names(w[k] | (uint64_t{w[k + 3]} << 32)); };
          d.key(a.name).begin_object();
          write_names(d.key("effective"), set(0));
          write_names(d.key("permitted"), set(1));
          write_names(d.key("inheritable"), set(2));
          d.end_object();
        }
        break;
      case ArgKind::Clone3Args:
        if (auto flags = clone3_flags(f)) {
          uint64_t exit_signal;
          std::memcpy(&exit_signal, f->data + 32, 8);
          d.member("flags", unshare_flags_text(*flags));
          d.member("exit_signal", signal_text(exit_signal));
        }
        break;
      case ArgKind::MountAttr:
        if (f && f->data_len >= 32) {
          uint64_t w[4];  // attr_set, attr_clr, propagation, userns_fd
          std::memcpy(w, f->data, sizeof(w));
          d.key(a.name).begin_object();
          d.member("attr_set", mount_attr_flags_text(w[0])).member("attr_clr", mount_attr_flags_text(w[1]));
          d.member("propagation", mount_flags_text(w[2])).member("userns_fd", w[3]);
          d.end_object();
        }
        break;
      case ArgKind::MsgHdr: break;  // scm_rights is added at exit
      case ArgKind::OpenFlags: d.member(a.name, open_flags_text(v)); break;
      case ArgKind::AtFlags: d.member(a.name, at_flags_text(v)); break;
      case ArgKind::MountFlags: d.member(a.name, mount_flags_text(v)); break;
      case ArgKind::UmountFlags: d.member(a.name, umount_flags_text(v)); break;
      case ArgKind::CloneFlags: d.member(a.name, clone_flags_text(v)); break;
      case ArgKind::UnshareFlags: d.member(a.name, unshare_flags_text(v)); break;
      case ArgKind::NsType: d.member(a.name, nstype_text(v)); break;
      case ArgKind::MoveMountFlags: d.member(a.name, move_mount_flags_text(v)); break;
      case ArgKind::OpenTreeFlags: d.member(a.name, open_tree_flags_text(v)); break;
      case ArgKind::FsconfigCmd: d.member(a.name, fsconfig_cmd_text(v)); break;
      case ArgKind::FsopenFlags: d.member(a.name, fsopen_flags_text(v)); break;
      case ArgKind::FsmountFlags: d.member(a.name, fsmount_flags_text(v)); break;
      case ArgKind::MountAttrFlags: d.member(a.name, mount_attr_flags_text(v)); break;
      case ArgKind::PidfdFlags: d.member(a.name, pidfd_flags_text(v)); break;
      case ArgKind::PrctlOp: d.member(a.name, prctl_option_text(v)); break;
      case ArgKind::PrctlArg:
        if (auto text = prctl_arg2_text(e.args[0], v)) d.member(a.name, *text);
        else d.member(a.name, as_int(v));
        break;
      case ArgKind::SeccompOp: d.member(a.name, seccomp_op_text(v)); break;
      case ArgKind::Signal: d.member(a.name, signal_text(v)); break;
      case ArgKind::Rlimit: d.member(a.name, rlimit_text(v)); break;
      case ArgKind::KeyctlOp: d.member(a.name, keyctl_op_text(v)); break;
    }
  }
}

void Recorder::emit() {
  events_++;
  sink_(line_.text());
}

bool Recorder::on_record(const void* data, std::size_t size) {
  bool decoded = decode(data, size);
  records_ += decoded;
  return decoded;
}

bool Recorder::decode(const void* data, std::size_t size) {
  if (size < sizeof(gt_header)) return false;
  const auto* h = static_cast<const gt_header*>(data);
  if (h->size > size) return false;
  switch (h->kind) {
    case GT_SYS_ENTER:
      if (size < sizeof(gt_sys_enter)) return false;
      on_enter(*static_cast<const gt_sys_enter*>(data), size);
      return true;
    case GT_SYS_EXIT: on_exit_of_syscall(data); return true;
    case GT_SYSCALL:
      if (size < sizeof(gt_sys_enter)) return false;
      on_whole_syscall(*static_cast<const gt_sys_enter*>(data), size);
      return true;
    case GT_FORK: on_fork(data); return true;
    case GT_EXEC: on_exec(data); return true;
    case GT_EXIT: on_task_exit(data); return true;
    case GT_STEP: on_step(data); return true;
    case GT_AUDIT:
      if (size < sizeof(gt_audit)) return false;
      line_.clear();
      line_.raw(audit_event(*static_cast<const gt_audit*>(data)).dump(-1, ' ', false, Json::error_handler_t::replace));
      emit();
      return true;
  }
  return false;
}

namespace {
// A syscall event up to its "decoded" object, which is left open.
void write_syscall_start(JsonLine& out, TaskFieldsCache& tasks, const gt_sys_enter& e, std::size_t size) {
  out.begin_object();
  tasks.write(out, e.h, "syscall");
  out.member("nr", e.nr).member("name", syscall_name(e.nr));
  out.key("args").begin_array();
  for (uint64_t a : e.args) out.value(a);
  out.end_array();
  out.key("decoded").begin_object();
  write_decoded_args(out, e, size);
}
}  // namespace

void Recorder::on_enter(const gt_sys_enter& e, std::size_t size) {
  uint32_t tid = e.h.task.tid;
  flush_incomplete(tid);  // a previous syscall of this thread never returned
  line_.clear();
  write_syscall_start(line_, tasks_, e, size);
  pending_[tid] = Pending{line_.take(), e.nr, e.h.task.ts, e.args[0], clone3_flags(full_record(e, size))};
}

void Recorder::on_exit_of_syscall(const void* data) {
  const auto& x = *static_cast<const gt_sys_exit*>(data);
  auto it = pending_.find(x.h.task.tid);
  if (it == pending_.end() || !exit_matches(it->second.nr, x.nr)) {
    // No entry: refused by seccomp before the sys_enter tracepoint (an error
    // return, whose args came with the exit), or entered before we attached.
    // orig_ax -1: no syscall (a signal return's restart path).
    if (x.h.size >= sizeof(gt_sys_exit_err) && x.nr >= 0)
      emit_entryless_syscall(x.h, x.nr, static_cast<const gt_sys_exit_err*>(data)->args, x.ret);
    else
      unpaired_exits_++;
    return;
  }
  line_.resume(std::move(it->second.line));
  uint64_t entry_ts = it->second.ts;
  pending_.erase(it);
  if (x.scm_rights >= 0) line_.member("scm_rights", x.scm_rights);
  line_.end_object();
  finish_returned(x.ret, x.h.task.ts - entry_ts);
}

// The same line as an entry and its exit give.
void Recorder::on_whole_syscall(const gt_sys_enter& e, std::size_t size) {
  flush_incomplete(e.h.task.tid);  // a previous syscall of this thread never returned
  line_.clear();
  write_syscall_start(line_, tasks_, e, size);
  line_.end_object();
  finish_returned(e.ret, e.exit_ts - e.h.task.ts);
}

void Recorder::finish_returned(int64_t ret, uint64_t dur_ns) {
  line_.member("ret", ret).key("errno");
  if (is_error_return(ret)) line_.value(errno_name(static_cast<int>(-ret)));
  else line_.value(nullptr);
  line_.member("dur_ns", dur_ns).member("complete", true).end_object();
  syscalls_++;
  emit();
}

void Recorder::flush_incomplete(uint32_t tid) {
  auto it = pending_.find(tid);
  if (it == pending_.end()) return;
  line_.resume(std::move(it->second.line));
  pending_.erase(it);
  line_.end_object();
  line_.member("ret", nullptr).member("errno", nullptr).member("dur_ns", nullptr).member("complete", false);
  line_.end_object();
  syscalls_++;
  emit();
}

void Recorder::on_fork(const void* data) {
  const auto& f = *static_cast<const gt_fork*>(data);
  bool thread = f.child_pid == f.h.task.pid;
  line_.clear();
  line_.begin_object();
  write_task_fields(line_, f.h, "fork");
  line_.member("child_pid", f.child_pid).member("child_tid", f.child_tid);
  line_.member("child_ns_pid", f.child_ns_pid).member("child_ns_tid", f.child_ns_tid);
  line_.member("child_pidns", f.child_pidns).member("thread", thread);
  // Clone flags come from the parent's syscall still in flight.
  auto it = pending_.find(f.h.task.tid);
  if (it == pending_.end()) {
    line_.member("syscall", nullptr).member("flags", nullptr);
  } else {
    const Pending& p = it->second;
    std::string name = syscall_name(p.nr);
    line_.member("syscall", name).key("flags");
    if (name == "clone") line_.value(clone_flags_text(p.arg0));
    else if (name == "clone3" && p.clone3_flags) line_.value(unshare_flags_text(*p.clone3_flags));
    else if (name == "fork") line_.value("SIGCHLD");
    else if (name == "vfork") line_.value("CLONE_VM|CLONE_VFORK|SIGCHLD");
    else line_.value(nullptr);
  }
  line_.end_object();
  emit();
  if (!thread && on_process_start) on_process_start(f.child_pid);
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
  line_.clear();
  line_.begin_object();
  write_task_fields(line_, x.h, "exec");
  line_.member("old_tid", x.old_tid);
  line_.member("filename", bounded(x.filename, GT_STR_LEN));
  line_.key("argv").begin_array();
  std::size_t len = std::min<std::size_t>(x.args_len, GT_EXEC_ARGS_LEN);
  for (std::size_t pos = 0; pos < len;) {
    std::size_t n = strnlen(x.args + pos, len - pos);
    line_.value(std::string_view(x.args + pos, n));
    pos += n + 1;
  }
  line_.end_array().end_object();
  emit();
}

// A syscall known from its exit (or its thread's SIGSYS death) only: raw
// args, no strings (they are read at entry).
void Recorder::emit_entryless_syscall(const gt_header& h, int64_t nr, const __u64* args, std::optional<int64_t> ret) {
  gt_sys_enter e{};
  e.h = h;
  e.nr = nr;
  for (int i = 0; i < 6; i++) e.args[i] = args[i];
  line_.clear();
  write_syscall_start(line_, tasks_, e, sizeof e);
  line_.end_object();
  if (ret) line_.member("ret", *ret).member("errno", errno_name(static_cast<int>(-*ret)));
  else line_.member("ret", nullptr).member("errno", nullptr);
  line_.member("dur_ns", nullptr).member("complete", ret.has_value()).member("entry_seen", false);
  line_.end_object();
  syscalls_++;
  emit();
}

void Recorder::on_task_exit(const void* data) {
  const auto& x = *static_cast<const gt_exit*>(data);
  flush_incomplete(x.h.task.tid);  // exit/exit_group never return
  if ((x.exit_code & 0x7f) == SIGSYS && x.sigsys_nr >= 0)  // a seccomp kill inside the syscall entry
    emit_entryless_syscall(x.h, x.sigsys_nr, x.sigsys_args, std::nullopt);
  int sig = x.exit_code & 0x7f;
  line_.clear();
  line_.begin_object();
  write_task_fields(line_, x.h, "exit");
  line_.member("status", x.exit_code).key("exit_code");
  if (sig) line_.value(nullptr).member("signal", signal_text(sig));
  else line_.value((x.exit_code >> 8) & 0xff).member("signal", nullptr);
  line_.member("core_dumped", (x.exit_code & 0x80) != 0).member("group_dead", x.group_dead != 0);
  line_.end_object();
  emit();
  if (x.group_dead && on_process_gone) on_process_gone(x.h.task.pid);
}

void Recorder::on_step(const void* data) {
  const auto& s = *static_cast<const gt_step*>(data);
  line_.clear();
  line_.begin_object();
  write_task_fields(line_, s.h, "step");
  line_.member("phase", s.is_end ? "end" : "begin");
  line_.member("name", bounded(s.step, sizeof(s.step)));
  line_.member("err", s.err).end_object();
  emit();
}

void Recorder::finish() {
  while (!pending_.empty()) flush_incomplete(pending_.begin()->first);
}

}  // namespace glasstrace

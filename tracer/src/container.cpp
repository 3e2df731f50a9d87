#include "container.h"

namespace glasstrace {
namespace {

bool ok_syscall(const Json& e, std::initializer_list<const char*> names) {
  if (e["type"] != "syscall" || !e.value("complete", false) || !e["ret"].is_number() || e["ret"].get<int64_t>() < 0)
    return false;
  for (const char* n : names)
    if (e["name"] == n) return true;
  return false;
}

// seccomp(SECCOMP_SET_MODE_FILTER, ...) or prctl(PR_SET_SECCOMP, 2, ...).
bool installs_filter(const Json& e) {
  if (ok_syscall(e, {"seccomp"})) return e["args"][0].get<uint64_t>() == 1;
  if (ok_syscall(e, {"prctl"})) return e["args"][0].get<uint64_t>() == 22 && e["args"][1].get<uint64_t>() == 2;
  return false;
}

}  // namespace

bool ContainerView::after_exec(const Json& e) const {
  if (!exec || e["type"] != "syscall") return false;
  uint32_t p = e["pid"];
  uint64_t ts = e["ts"];
  return pids.count(p) && ts >= exec_ts;
}

bool ContainerView::under_filter(const Json& e) const {
  if (after_exec(e)) return true;
  return exec && filter_ts && e["type"] == "syscall" && e["pid"] == pid && e["ts"].get<uint64_t>() > filter_ts;
}

ContainerView find_container(const Trace& t) {
  ContainerView v;
  if (t.events.empty()) return v;
  uint32_t root = t.meta.is_object() ? t.meta.value("root_pid", 0u) : 0u;
  uint64_t host_mntns = 0;
  for (const auto& e : t.events)
    if (e["type"] != "step" && (!root || e["pid"] == root)) {
      host_mntns = e["mntns"];
      break;
    }
  for (const auto& e : t.events)
    if (ok_syscall(e, {"execve", "execveat"}) && e["mntns"] != host_mntns) {
      v.exec = &e;
      v.pid = e["pid"];
      v.exec_ts = e["ts"];
      break;
    }
  if (!v.exec) return v;
  v.pids.insert(v.pid);
  for (const auto& e : t.events) {
    uint64_t ts = e["ts"];
    if (e["pid"] == v.pid && ts < v.exec_ts && installs_filter(e)) v.filter_ts = ts;
    if (e["type"] == "fork" && ts >= v.exec_ts && v.pids.count(e["pid"].get<uint32_t>()))
      v.pids.insert(e["child_pid"].get<uint32_t>());
  }
  return v;
}

}  // namespace glasstrace

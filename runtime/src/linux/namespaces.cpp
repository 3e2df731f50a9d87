#include "linux/namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fd.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace glassrun::namespaces {

const std::vector<Kind>& kinds() {
  static const std::vector<Kind> k{
      {"user", CLONE_NEWUSER, "user", "NEWUSER"},     {"pid", CLONE_NEWPID, "pid", "NEWPID"},
      {"network", CLONE_NEWNET, "net", "NEWNET"},     {"ipc", CLONE_NEWIPC, "ipc", "NEWIPC"},
      {"uts", CLONE_NEWUTS, "uts", "NEWUTS"},         {"mount", CLONE_NEWNS, "mnt", "NEWNS"},
      {"cgroup", CLONE_NEWCGROUP, "cgroup", "NEWCGROUP"}, {"time", CLONE_NEWTIME, "time", "NEWTIME"},
  };
  return k;
}

const Kind* by_config_name(const std::string& name) {
  for (const auto& k : kinds())
    if (name == k.config_name) return &k;
  return nullptr;
}

int clone_flags(const spec::Config& c) {
  int flags = 0;
  for (const auto& ns : c.namespaces) {
    if (!ns.path.empty()) continue;
    const Kind* k = by_config_name(ns.type);
    if (k->clone_flag == CLONE_NEWCGROUP || k->clone_flag == CLONE_NEWTIME) continue;
    flags |= k->clone_flag;
  }
  return flags;
}

void join(const std::string& path, int clone_flag) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_sys(fmt::format("open namespace {}", path));
  if (setns(fd.get(), clone_flag) != 0) throw_sys(fmt::format("setns {}", path));
}

void join_paths(const spec::Config& c, bool with_pid) {
  if (joins_user(c)) join(c.find_namespace("user")->path, CLONE_NEWUSER);
  for (const auto& ns : c.namespaces) {
    if (ns.path.empty() || ns.type == "user" || (ns.type == "pid" && !with_pid)) continue;
    join(ns.path, by_config_name(ns.type)->clone_flag);
  }
}

bool joins_user(const spec::Config& c) {
  const auto* u = c.find_namespace("user");
  return u && !u->path.empty();
}

std::map<std::string, std::string> state_paths(const spec::Config& c, pid_t init_pid) {
  std::map<std::string, std::string> out;
  for (const auto& k : kinds()) {
    if (k.clone_flag == CLONE_NEWTIME) continue;  // runc 1.1 does not list it
    // The kernel has a kind the init was made or joined with; the others
    // are looked up.
    if (!c.find_namespace(k.config_name) && access(fmt::format("/proc/self/ns/{}", k.proc_name).c_str(), F_OK) != 0)
      continue;
    // Joined namespaces too are named through the init, as runc does: the
    // init holds them for as long as the container lives.
    out[k.runc_key] = fmt::format("/proc/{}/ns/{}", init_pid, k.proc_name);
  }
  return out;
}

}  // namespace glassrun::namespaces

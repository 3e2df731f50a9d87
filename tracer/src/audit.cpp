#include "audit.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <set>
#include <stdexcept>

#include "decode.h"
#include "events.h"

namespace glasstrace {
namespace {

struct NsField {
  const char* name;  // as in /proc/PID/ns
  uint32_t gt_audit::*inode;
};
constexpr std::array<NsField, 9> kNamespaces = {{
    {"pid", &gt_audit::ns_pid},
    {"pid_for_children", &gt_audit::ns_pid_children},
    {"mnt", &gt_audit::ns_mnt},
    {"uts", &gt_audit::ns_uts},
    {"ipc", &gt_audit::ns_ipc},
    {"net", &gt_audit::ns_net},
    {"cgroup", &gt_audit::ns_cgroup},
    {"time", &gt_audit::ns_time},
    {"user", &gt_audit::ns_user},
}};

// The host's namespaces: pid 1's, or glasstrace's own where /proc/1/ns
// cannot be read (a sandbox denying ptrace access to pid 1).
uint64_t host_ns_inode(const char* name) {
  struct stat st;
  if (stat(fmt::format("/proc/1/ns/{}", name).c_str(), &st) == 0) return st.st_ino;
  return stat(fmt::format("/proc/self/ns/{}", name).c_str(), &st) == 0 ? st.st_ino : 0;
}

std::string name_of(const char* s) { return std::string(s, strnlen(s, GT_NAME_LEN)); }

// Leaf-first names → "/a/b" (".../a/b" when cut short).
std::string path_text(const gt_path& p) {
  std::string out;
  for (int i = std::min<int>(p.depth, GT_AUDIT_DEPTH) - 1; i >= 0; i--) out += "/" + name_of(p.names[i]);
  if (p.truncated) out = "..." + out;
  return out.empty() ? "/" : out;
}

const char* file_type(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return "file";
    case S_IFDIR: return "dir";
    case S_IFCHR: return "chr";
    case S_IFBLK: return "blk";
    case S_IFIFO: return "pipe";
    case S_IFSOCK: return "socket";
    case S_IFLNK: return "symlink";
    case 0: return "anon_inode";
  }
  return "unknown";
}

Json fd_json(const gt_audit_fd& f) {
  std::string type = file_type(f.mode);
  Json j = {{"fd", f.fd}, {"type", type}};
  bool has_path = type != "pipe" && type != "socket" && type != "anon_inode";
  if (type == "pipe" || type == "socket") j["target"] = fmt::format("{}:[{}]", type, f.ino);
  else if (type == "anon_inode") j["target"] = "anon_inode:" + name_of(f.path.names[0]);
  else j["target"] = path_text(f.path);
  j["inside_root"] = has_path ? Json(f.path.in_root != 0) : Json(nullptr);
  j["fstype"] = std::string(f.fstype, strnlen(f.fstype, sizeof f.fstype));
  j["cloexec"] = f.cloexec != 0;
  j["flags"] = open_flags_text(f.flags);
  return j;
}

Json rlimit_value(uint64_t v) { return v == ~uint64_t{0} ? Json("unlimited") : Json(v); }

const char* seccomp_mode_text(int m) { return m == 0 ? "disabled" : m == 1 ? "strict" : m == 2 ? "filter" : "unknown"; }

}  // namespace

Json audit_event(const gt_audit& a) {
  static const auto host_ns = [] {
    std::array<uint64_t, kNamespaces.size()> v{};
    for (size_t i = 0; i < v.size(); i++) v[i] = host_ns_inode(kNamespaces[i].name);
    return v;
  }();
  Json j = task_fields(a.h);
  j["type"] = "exec_audit";
  j["uid"] = {{"real", a.uid}, {"effective", a.euid}, {"saved", a.suid}, {"fs", a.fsuid}};
  j["gid"] = {{"real", a.gid}, {"effective", a.egid}, {"saved", a.sgid}, {"fs", a.fsgid}};
  Json groups = Json::array();
  for (uint32_t i = 0; i < std::min<uint32_t>(a.ngroups, GT_AUDIT_GROUPS); i++) groups.push_back(a.groups[i]);
  j["groups"] = groups;
  j["groups_truncated"] = a.ngroups > GT_AUDIT_GROUPS;
  j["caps"] = {{"effective", capability_names(a.cap_effective)},
               {"permitted", capability_names(a.cap_permitted)},
               {"inheritable", capability_names(a.cap_inheritable)},
               {"bounding", capability_names(a.cap_bset)},
               {"ambient", capability_names(a.cap_ambient)}};
  j["no_new_privs"] = a.no_new_privs != 0;
  j["securebits"] = a.securebits;
  j["seccomp"] = {{"mode", seccomp_mode_text(a.seccomp_mode)}, {"filters", a.seccomp_filters}};
  j["dumpable"] = a.dumpable;
  Json rl = Json::object();
  for (int i = 0; i < GT_RLIMITS; i++)
    rl[rlimit_text(i)] = {{"soft", rlimit_value(a.rlim[i][0])}, {"hard", rlimit_value(a.rlim[i][1])}};
  j["rlimits"] = rl;
  Json ns = Json::object();
  for (size_t i = 0; i < kNamespaces.size(); i++) {
    uint32_t inode = a.*kNamespaces[i].inode;
    ns[kNamespaces[i].name] = {{"inode", inode}, {"same_as_host", host_ns[i] && inode == host_ns[i]}};
  }
  j["namespaces"] = ns;
  j["root"] = {{"path", path_text(a.root)}, {"is_mount_ns_root", a.root.at_ns_top && a.root.depth == 0}};
  j["cwd"] = {{"path", path_text(a.cwd)}, {"inside_root", a.cwd.in_root != 0}};
  Json fds = Json::array();
  for (uint32_t i = 0; i < std::min<uint32_t>(a.fds_described, GT_AUDIT_FDS); i++) fds.push_back(fd_json(a.fds[i]));
  j["fds"] = fds;
  j["open_fds"] = a.nfds;
  j["fds_truncated"] = a.nfds > a.fds_described;
  return j;
}

std::vector<const Json*> audit_events(const Trace& t) {
  std::vector<const Json*> out;
  for (const auto& e : t.events)
    if (e["type"] == "exec_audit") out.push_back(&e);
  return out;
}

std::string audit_text(const Json& a) {
  std::string s = fmt::format("exec_audit pid {} (ns pid {}) {}\n", a["pid"].get<uint32_t>(), a["ns_pid"].get<uint32_t>(),
                              a["comm"].get<std::string>());
  auto ids = [](const Json& v) {
    return fmt::format("{}/{}/{}/{}", v["real"].get<uint32_t>(), v["effective"].get<uint32_t>(),
                       v["saved"].get<uint32_t>(), v["fs"].get<uint32_t>());
  };
  s += fmt::format("  uid {}  gid {}  groups {}\n", ids(a["uid"]), ids(a["gid"]), a["groups"].dump());
  for (const char* set : {"effective", "permitted", "inheritable", "bounding", "ambient"})
    s += fmt::format("  caps.{:<12} {}\n", set, a["caps"][set].size() == 0 ? "-" : fmt::format("{}", fmt::join(a["caps"][set].get<std::vector<std::string>>(), ",")));
  s += fmt::format("  no_new_privs {}  securebits {:#x}  seccomp {} ({} filters)  dumpable {}\n",
                   a["no_new_privs"].get<bool>(), a["securebits"].get<uint32_t>(), a["seccomp"]["mode"].get<std::string>(),
                   a["seccomp"]["filters"].get<uint32_t>(), a["dumpable"].get<int>());
  s += fmt::format("  root {}{}  cwd {}{}\n", a["root"]["path"].get<std::string>(),
                   a["root"]["is_mount_ns_root"].get<bool>() ? " (mount ns root)" : "", a["cwd"]["path"].get<std::string>(),
                   a["cwd"]["inside_root"].get<bool>() ? "" : " (OUTSIDE the root)");
  std::string ns;
  for (const auto& [name, v] : a["namespaces"].items())
    ns += fmt::format(" {}:{}{}", name, v["inode"].get<uint32_t>(), v["same_as_host"].get<bool>() ? "=host" : "");
  s += "  ns" + ns + fmt::format("  cgroup {}\n", a["cgroup"].get<uint64_t>());
  for (const auto& f : a["fds"])
    s += fmt::format("  fd {:<3} {:<10} {}{} {}{}\n", f["fd"].get<int>(), f["type"].get<std::string>(),
                     f["target"].get<std::string>(), f["inside_root"] == false ? " (OUTSIDE the root)" : "",
                     f["flags"].get<std::string>(), f["cloexec"].get<bool>() ? " cloexec" : "");
  if (a["fds_truncated"].get<bool>()) s += fmt::format("  ... {} open fds in all\n", a["open_fds"].get<uint32_t>());
  return s;
}

namespace {

template <typename T>
T policy_value(const Json& policy, const char* key, const T& fallback) {
  if (!policy.contains(key)) return fallback;
  try {
    return policy[key].get<T>();
  } catch (const std::exception&) {
    throw std::runtime_error(fmt::format("policy field \"{}\": wrong type", key));
  }
}

}  // namespace

std::vector<std::string> audit_violations(const Json& a, const Json& policy) {
  static const std::set<std::string> kKnown = {"allowed_fds", "fds_inside_root", "cwd_inside_root", "allowed_caps",
                                               "seccomp_mode", "min_seccomp_filters", "no_new_privs", "uid", "gid",
                                               "namespaces_not_shared", "dumpable", "rlimits"};
  if (!policy.is_object()) throw std::runtime_error("policy: must be a JSON object");
  for (const auto& [key, v] : policy.items())
    if (!kKnown.count(key)) throw std::runtime_error(fmt::format("policy field \"{}\": unknown", key));
  std::vector<std::string> out;

  auto allowed = policy_value<std::set<int>>(policy, "allowed_fds", {});
  bool fds_inside = policy_value<bool>(policy, "fds_inside_root", true);
  for (const auto& f : a["fds"]) {
    int fd = f["fd"];
    std::string what = fmt::format("fd {} ({} {})", fd, f["type"].get<std::string>(), f["target"].get<std::string>());
    if (fd > 2 && !allowed.count(fd)) out.push_back(what + ": not allowed (allowed_fds)");
    // 0-2 are the caller's stdio, handed over on purpose (often host files).
    if (fds_inside && fd > 2 && f["inside_root"] == false) out.push_back(what + ": outside the container root");
  }
  if (a["fds_truncated"].get<bool>())
    out.push_back(fmt::format("fds: {} open, only the first {} described", a["open_fds"].get<uint32_t>(), GT_AUDIT_FDS));
  if (policy_value<bool>(policy, "cwd_inside_root", true) && !a["cwd"]["inside_root"].get<bool>())
    out.push_back(fmt::format("cwd {}: outside the container root", a["cwd"]["path"].get<std::string>()));
  if (policy.contains("allowed_caps")) {
    auto caps = policy_value<std::set<std::string>>(policy, "allowed_caps", {});
    for (const char* set : {"effective", "permitted", "inheritable", "bounding", "ambient"})
      for (const auto& c : a["caps"][set])
        if (!caps.count(c.get<std::string>())) out.push_back(fmt::format("caps.{}: {} not allowed", set, c.get<std::string>()));
  }
  if (policy.contains("seccomp_mode")) {
    auto want = policy_value<std::string>(policy, "seccomp_mode", "");
    if (a["seccomp"]["mode"] != want)
      out.push_back(fmt::format("seccomp mode {}: expected {}", a["seccomp"]["mode"].get<std::string>(), want));
  }
  if (policy.contains("min_seccomp_filters")) {
    auto want = policy_value<uint32_t>(policy, "min_seccomp_filters", 0);
    if (a["seccomp"]["filters"].get<uint32_t>() < want)
      out.push_back(fmt::format("seccomp filters {}: expected at least {}", a["seccomp"]["filters"].get<uint32_t>(), want));
  }
  if (policy.contains("no_new_privs") && a["no_new_privs"] != policy_value<bool>(policy, "no_new_privs", false))
    out.push_back(fmt::format("no_new_privs {}: expected {}", a["no_new_privs"].get<bool>(), !a["no_new_privs"].get<bool>()));
  for (const char* id : {"uid", "gid"})
    if (policy.contains(id)) {
      auto want = policy_value<uint32_t>(policy, id, 0);
      for (const char* which : {"real", "effective", "saved", "fs"})
        if (a[id][which].get<uint32_t>() != want)
          out.push_back(fmt::format("{}.{} {}: expected {}", id, which, a[id][which].get<uint32_t>(), want));
    }
  for (const auto& ns : policy_value<std::vector<std::string>>(policy, "namespaces_not_shared", {})) {
    if (!a["namespaces"].contains(ns)) throw std::runtime_error(fmt::format("policy field \"namespaces_not_shared\": unknown namespace \"{}\"", ns));
    if (a["namespaces"][ns]["same_as_host"].get<bool>()) out.push_back(fmt::format("namespace {}: shared with the host", ns));
  }
  if (policy.contains("dumpable") && a["dumpable"].get<int>() != policy_value<int>(policy, "dumpable", 0))
    out.push_back(fmt::format("dumpable {}: expected {}", a["dumpable"].get<int>(), policy["dumpable"].dump()));
  if (policy.contains("rlimits")) {
    for (const auto& [name, want] : policy["rlimits"].items()) {
      if (!a["rlimits"].contains(name)) throw std::runtime_error(fmt::format("policy field \"rlimits\": unknown limit \"{}\"", name));
      for (const char* k : {"soft", "hard"})
        if (want.contains(k) && a["rlimits"][name][k] != want[k])
          out.push_back(fmt::format("{} {} {}: expected {}", name, k, a["rlimits"][name][k].dump(), want[k].dump()));
    }
  }
  return out;
}

}  // namespace glasstrace

#include "milestones.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "decode.h"

namespace glasstrace {
namespace {

constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;  // linux/sched.h, 5.7

// OCI default masked paths; a read-only tmpfs or /dev/null bind there is masking.
const std::set<std::string> kMaskedPaths = {
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
};

std::string join_path(const std::string& dir, const std::string& rel) {
  if (rel.empty()) return dir;
  if (rel[0] == '/') return rel;
  if (rel == ".") return dir;
  if (dir.empty()) return rel;
  return dir == "/" ? "/" + rel : dir + "/" + rel;
}

std::string basename_of(const std::string& p) {
  auto pos = p.find_last_of('/');
  return pos == std::string::npos ? p : p.substr(pos + 1);
}

// Per-process fd -> path and cwd, replayed from open/close/dup/chdir, so
// that "/proc/self/fd/7" or (dirfd, "proc") can be named.
class PathTracker {
 public:
  void on_event(const Json& e) {
    std::string type = e["type"];
    uint32_t pid = e["pid"];
    if (type == "fork") {
      uint32_t child = e["child_pid"];
      if (child != pid) procs_[child] = procs_[pid];
      return;
    }
    if (type != "syscall" || !e["complete"].get<bool>()) return;
    int64_t ret = e["ret"];
    if (ret < 0) return;
    std::string name = e["name"];
    const Json& d = e["decoded"];
    Proc& p = procs_[pid];
    if ((name == "open" || name == "openat" || name == "openat2" || name == "open_tree") &&
        d.contains(name == "open_tree" ? "filename" : "pathname")) {
      const Json& path = d[name == "open_tree" ? "filename" : "pathname"];
      if (path.is_string()) p.fds[static_cast<int>(ret)] = resolve(pid, d.value("dirfd", Json("AT_FDCWD")), path);
    } else if (name == "close") {
      p.fds.erase(d.value("fd", -1));
    } else if (name == "dup" || name == "dup2" || name == "dup3") {
      auto it = p.fds.find(d.value("oldfd", -1));
      if (it != p.fds.end()) p.fds[static_cast<int>(ret)] = it->second;
    } else if (name == "chdir" && d["path"].is_string()) {
      p.cwd = resolve(pid, Json("AT_FDCWD"), d["path"]);
    } else if (name == "fchdir") {
      auto it = p.fds.find(d.value("fd", -1));
      if (it != p.fds.end()) p.cwd = it->second;
    }
  }

  std::string resolve(uint32_t pid, const Json& dirfd, const Json& path) {
    std::string s = path.is_string() ? path.get<std::string>() : "";
    for (const char* self : {"/proc/self/fd/", "/proc/thread-self/fd/"}) {
      if (s.rfind(self, 0) == 0) {
        // The fd's path, and what the name goes on to below it
        // ("/proc/self/fd/9/blkio": the directory blkio in fd 9's).
        std::size_t digits = strlen(self), end = s.find('/', digits);
        auto it = procs_[pid].fds.find(std::atoi(s.c_str() + digits));
        if (it != procs_[pid].fds.end())
          return end == std::string::npos ? it->second : join_path(it->second, s.substr(end + 1));
      }
    }
    if (!s.empty() && s[0] == '/') return s;
    std::string base = procs_[pid].cwd;
    if (dirfd.is_number()) {
      auto it = procs_[pid].fds.find(dirfd.get<int>());
      base = it != procs_[pid].fds.end() ? it->second : "";
    }
    return join_path(base, s);
  }

  std::string cwd(uint32_t pid) { return procs_[pid].cwd; }

 private:
  struct Proc {
    std::map<int, std::string> fds;
    std::string cwd;
  };
  std::map<uint32_t, Proc> procs_;
};

std::string relative_to(const std::string& rootfs, const std::string& p) {
  if (rootfs.empty() || rootfs == "/") return p;
  if (p == rootfs) return "/";
  if (p.rfind(rootfs + "/", 0) == 0) return p.substr(rootfs.size());
  return p;
}

bool ok(const Json& e) { return e["complete"].get<bool>() && e["ret"].get<int64_t>() >= 0; }

std::vector<const Json*> by_time(const Trace& t) {
  std::vector<const Json*> order;
  for (const auto& e : t.events) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(), [](const Json* a, const Json* b) {
    return (*a)["ts"].get<uint64_t>() < (*b)["ts"].get<uint64_t>();
  });
  return order;
}

std::string ns_list(uint64_t flags) {
  auto names = namespace_names(flags);
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

std::string mount_kind(const std::string& flags_text, const Json& fstype) {
  auto has = [&](const char* f) { return flags_text.find(f) != std::string::npos; };
  if (has("MS_REMOUNT")) return has("MS_BIND") ? "bind-remount" : "remount";
  if (has("MS_BIND")) return "bind";
  if (has("MS_MOVE")) return "move";
  if (has("MS_PRIVATE") || has("MS_SLAVE") || has("MS_SHARED") || has("MS_UNBINDABLE")) return "propagation";
  return fstype.is_string() ? fstype.get<std::string>() : "?";
}

}  // namespace

MilestoneList extract_milestones(const Trace& t) {
  auto order = by_time(t);
  MilestoneList out;

  // Pass 1: the rootfs, from the first pivot_root (or chroot).
  {
    PathTracker paths;
    for (const Json* ep : order) {
      const Json& e = *ep;
      if (e["type"] == "syscall" && ok(e) && (e["name"] == "pivot_root" || e["name"] == "chroot")) {
        const Json& arg = e["decoded"][e["name"] == "pivot_root" ? "new_root" : "path"];
        out.rootfs = paths.resolve(e["pid"], Json("AT_FDCWD"), arg);
        break;
      }
      paths.on_event(e);
    }
  }

  // The container's process: the last successful execve by a pid-ns pid 1
  // (or, if none, the last successful execve).
  const Json* container_exec = nullptr;
  for (const Json* ep : order) {
    const Json& e = *ep;
    if (e["type"] == "syscall" && (e["name"] == "execve" || e["name"] == "execveat") && ok(e)) {
      if (e["ns_pid"] == 1 || !container_exec || (*container_exec)["ns_pid"] != 1) container_exec = ep;
    }
  }

  PathTracker paths;
  auto add = [&](const Json& e, std::string kind, std::string detail) {
    Milestone m{std::move(kind), std::move(detail), e["name"], e["pid"], e["tid"], e["ns_pid"], e["ts"]};
    if (!out.items.empty() && out.items.back().key() == m.key()) {
      out.items.back().count++;
      return;
    }
    out.items.push_back(std::move(m));
  };
  for (const Json* ep : order) {
    const Json& e = *ep;
    if (e["type"] != "syscall" || !ok(e)) {
      paths.on_event(e);
      continue;
    }
    std::string name = e["name"];
    const Json& d = e["decoded"];
    const Json& args = e["args"];
    uint32_t pid = e["pid"];
    if (name == "clone" || name == "unshare") {
      std::string ns = ns_list(args[0].get<uint64_t>() & (name == "clone" ? ~uint64_t{0xff} : ~uint64_t{0}));
      if (!ns.empty()) add(e, "ns.create", ns);
    } else if (name == "clone3" && d.contains("flags")) {
      uint64_t flags = 0;
      std::string text = d["flags"];
      for (std::size_t pos = 0; pos <= text.size();) {
        std::size_t bar = text.find('|', pos);
        if (bar == std::string::npos) bar = text.size();
        if (auto v = clone_flag_value(text.substr(pos, bar - pos))) flags |= *v;
        pos = bar + 1;
      }
      // The child is born in a cgroup: the attach that a cgroup.procs write
      // does otherwise. Before ns.create: the time after the clone is the
      // new namespaces' (critical-path phases run from one milestone to the next).
      if (flags & kCloneIntoCgroup) add(e, "cgroup.attach", "clone3 CLONE_INTO_CGROUP");
      std::string ns = ns_list(flags);
      if (!ns.empty()) add(e, "ns.create", ns);
    } else if (name == "setns") {
      std::string ns = ns_list(args[1].get<uint64_t>());
      add(e, "ns.join", ns.empty() ? "any" : ns);
    } else if ((name == "write" || name == "pwrite64") && d.value("fd_path", Json()).is_string()) {
      std::string base = basename_of(d["fd_path"]);
      if (base == "uid_map" || base == "gid_map" || base == "setgroups") add(e, "idmap.write", base);
      else if (base == "cgroup.procs" || base == "tasks" || base == "cgroup.threads") add(e, "cgroup.attach", base);
    } else if (name == "sethostname") {
      add(e, "hostname", d.value("name", Json("")).is_string() ? d["name"].get<std::string>() : "");
    } else if (name == "mount") {
      std::string target = relative_to(out.rootfs, paths.resolve(pid, Json("AT_FDCWD"), d["target"]));
      std::string flags = d.value("mountflags", "0");
      std::string kind = mount_kind(flags, d["filesystemtype"]);
      // runc and glassrun bind an O_PATH fd of /dev/null: resolve the source like the target
      std::string source = d["source"].is_string() ? paths.resolve(pid, Json("AT_FDCWD"), d["source"]) : "";
      bool masks = (kind == "bind" && source == "/dev/null") ||
                   (kMaskedPaths.count(target) && flags.find("MS_RDONLY") != std::string::npos && kind != "bind-remount" && kind != "remount");
      if (masks) add(e, "mask", target);
      else add(e, "mount", fmt::format("{} ({})", target, kind));
    } else if (name == "move_mount") {
      std::string target = relative_to(out.rootfs, paths.resolve(pid, d.value("to_dirfd", Json("AT_FDCWD")), d["to_pathname"]));
      add(e, "mount", fmt::format("{} (move_mount)", target));
    } else if (name == "mount_setattr") {
      // Flags set on a mount (and with AT_RECURSIVE every mount below it): what a
      // bind remount per mount does in runc.
      std::string target = relative_to(out.rootfs, paths.resolve(pid, d.value("dirfd", Json("AT_FDCWD")), d["pathname"]));
      const Json& flags = d.value("flags", Json(""));
      bool recursive = flags.is_string() && flags.get<std::string>().find("AT_RECURSIVE") != std::string::npos;
      add(e, "mount", fmt::format("{} (setattr{})", target, recursive ? " recursive" : ""));
    } else if (name == "umount2") {
      add(e, "umount", relative_to(out.rootfs, paths.resolve(pid, Json("AT_FDCWD"), d["target"])));
    } else if (name == "pivot_root") {
      add(e, "pivot_root", relative_to(out.rootfs, paths.resolve(pid, Json("AT_FDCWD"), d["new_root"])));
    } else if (name == "chroot") {
      add(e, "chroot", relative_to(out.rootfs, paths.resolve(pid, Json("AT_FDCWD"), d["path"])));
    } else if (name == "capset" && d.contains("datap")) {
      const Json& c = d["datap"];
      add(e, "capset", fmt::format("effective={} permitted={} inheritable={}", c["effective"].size(),
                                   c["permitted"].size(), c["inheritable"].size()));
    } else if (name == "prctl") {
      std::string op = d.value("option", "");
      if (op == "PR_CAPBSET_DROP") add(e, "capbset.drop", d["arg2"].is_string() ? d["arg2"].get<std::string>() : d["arg2"].dump());
      else if (op == "PR_SET_NO_NEW_PRIVS" && args[1] == 1) add(e, "no_new_privs", "1");
      else if (op == "PR_SET_SECCOMP" && args[1] == 2) add(e, "seccomp", "filter");
    } else if (name == "seccomp" && d.value("operation", "") == "SECCOMP_SET_MODE_FILTER") {
      add(e, "seccomp", "filter");
    } else if (ep == container_exec) {
      std::string detail = d.value("pathname", Json("")).is_string() ? d["pathname"].get<std::string>() : "";
      if (d.contains("argv"))
        for (const auto& a : d["argv"]) detail += " " + a.get<std::string>();
      add(e, "exec", detail);
    }
    paths.on_event(e);
  }
  return out;
}

Json milestones_json(const MilestoneList& m) {
  Json items = Json::array();
  for (const auto& x : m.items)
    items.push_back({{"kind", x.kind}, {"detail", x.detail}, {"syscall", x.syscall}, {"count", x.count},
                     {"pid", x.pid}, {"tid", x.tid}, {"ns_pid", x.ns_pid}, {"ts", x.ts}});
  return {{"v", 1}, {"rootfs", m.rootfs.empty() ? Json(nullptr) : Json(m.rootfs)}, {"milestones", items}};
}

std::string milestones_text(const MilestoneList& m) {
  std::string out;
  for (const auto& x : m.items)
    out += fmt::format("{:<14} {}{}\n", x.kind, x.detail, x.count > 1 ? fmt::format(" (x{})", x.count) : "");
  return out;
}

}  // namespace glasstrace

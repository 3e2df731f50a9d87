#include "linux/cgroups_paths.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "util/error.h"

namespace glassrun::cgroups {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool has_option(const CgroupMount& m, const std::string& opt) {
  return std::find(m.options.begin(), m.options.end(), opt) != m.options.end();
}

const CgroupMount* find_v1_mount(const std::vector<CgroupMount>& mounts, const std::string& subsystem) {
  for (const auto& m : mounts)
    if (m.fstype == "cgroup" && has_option(m, subsystem)) return &m;
  return nullptr;
}

const CgroupMount* find_v2_mount(const std::vector<CgroupMount>& mounts, const std::string& mountpoint) {
  for (const auto& m : mounts)
    if (m.fstype == "cgroup2" && m.mountpoint == mountpoint) return &m;
  return nullptr;
}

std::string join(const std::string& a, const std::string& b) { return clean_path(a + "/" + b); }

std::string dirname(const std::string& p) {
  auto slash = p.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return p.substr(0, slash);
}

// The caller's cgroup of one hierarchy as a path below its mountpoint: the
// mount root is cut off (nested: a container sees "/docker/x" in
// /proc/self/cgroup while its mount shows that cgroup at the mountpoint).
std::string own_dir(const CgroupMount& m, const std::string& own) {
  if (m.root == "/" || m.root.empty()) return join(m.mountpoint, own);
  if (own == m.root) return m.mountpoint;
  if (own.rfind(m.root + "/", 0) == 0) return join(m.mountpoint, own.substr(m.root.size()));
  return join(m.mountpoint, own);
}

std::string own_cgroup(const std::map<std::string, std::string>& self, const std::string& key) {
  auto it = self.find(key);
  if (it == self.end()) fail("/proc/self/cgroup has no line for {}", key.empty() ? "the unified hierarchy" : key);
  return it->second;
}

std::string v1_dir(const CgroupMount& m, const std::string& inner, const std::map<std::string, std::string>& self,
                   const std::string& key) {
  // An absolute cgroupsPath is taken from the hierarchy's root, not ours.
  if (!inner.empty() && inner[0] == '/') return join(m.mountpoint, inner);
  return join(own_dir(m, own_cgroup(self, key)), inner);
}

std::map<std::string, std::string> v1_paths(const std::vector<CgroupMount>& mounts, const std::string& inner,
                                            const std::map<std::string, std::string>& self, bool hybrid) {
  std::map<std::string, std::string> paths;
  for (const auto& sub : v1_subsystems()) {
    const CgroupMount* m = find_v1_mount(mounts, sub);
    if (!m) {
      // Without the devices controller the container would get every
      // device, so runc refuses; other missing controllers are skipped.
      if (sub == "devices") fail("cgroup controller devices is not mounted");
      continue;
    }
    paths[sub] = v1_dir(*m, inner, self, sub);
  }
  if (hybrid) {
    if (const CgroupMount* m = find_v2_mount(mounts, "/sys/fs/cgroup/unified")) paths[""] = v1_dir(*m, inner, self, "");
  }
  return paths;
}

std::string v2_path(const std::vector<CgroupMount>& mounts, const std::string& inner,
                    const std::map<std::string, std::string>& self) {
  const CgroupMount* m = find_v2_mount(mounts, "/sys/fs/cgroup");
  if (!m) fail("cgroup2 is not mounted at /sys/fs/cgroup");
  if (!inner.empty() && inner[0] == '/') return join(m->mountpoint, inner);
  // runc uses the parent of its own cgroup: its own one holds processes
  // (itself), so no controllers could be enabled for a child of it.
  return join(join(m->mountpoint, dirname(own_cgroup(self, ""))), inner);
}

}  // namespace

std::vector<CgroupMount> parse_cgroup_mounts(const std::string& mountinfo) {
  std::vector<CgroupMount> mounts = parse_mountinfo(mountinfo);
  mounts.erase(std::remove_if(mounts.begin(), mounts.end(),
                              [](const CgroupMount& m) { return m.fstype != "cgroup" && m.fstype != "cgroup2"; }),
               mounts.end());
  return mounts;
}

std::vector<CgroupMount> parse_mountinfo(const std::string& mountinfo) {
  std::vector<CgroupMount> mounts;
  std::istringstream in(mountinfo);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    std::string word;
    while (fields >> word) f.push_back(word);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || std::distance(dash, f.end()) < 4) continue;
    const std::string& fstype = *(dash + 1);
    mounts.push_back({unescape_octal(f[3]), unescape_octal(f[4]), fstype, split(*(dash + 3), ','), unescape_octal(*(dash + 2))});
  }
  return mounts;
}

std::map<std::string, std::string> parse_proc_cgroup(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto c1 = line.find(':');
    if (c1 == std::string::npos) continue;
    auto c2 = line.find(':', c1 + 1);
    if (c2 == std::string::npos) continue;
    std::string controllers = line.substr(c1 + 1, c2 - c1 - 1);
    std::string path = line.substr(c2 + 1);  // may itself contain ':'
    if (controllers.empty()) {
      out[""] = path;
      continue;
    }
    for (const auto& c : split(controllers, ',')) out[c] = path;
  }
  return out;
}

Layout layout_from_mountinfo(const std::string& mountinfo) {
  auto mounts = parse_cgroup_mounts(mountinfo);
  if (find_v2_mount(mounts, "/sys/fs/cgroup")) return Layout::V2;
  if (find_v2_mount(mounts, "/sys/fs/cgroup/unified")) return Layout::Hybrid;
  return Layout::V1;
}

std::string clean_path(const std::string& path) {
  if (path.empty()) return "";
  bool absolute = path[0] == '/';
  std::vector<std::string> parts;
  for (const auto& p : split(path, '/')) {
    if (p.empty() || p == ".") continue;
    if (p == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;  // never above the start, as CleanPath does for relative paths too
    }
    parts.push_back(p);
  }
  std::string out = absolute ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "/" : "") + parts[i];
  return out.empty() ? "." : out;
}

std::map<std::string, std::string> sub_cgroup_paths(std::map<std::string, std::string> paths,
                                                   const std::vector<std::string>& args) {
  std::map<std::string, std::string> sub;  // controller ("" for all) → sub path
  for (const auto& a : args) {
    auto parts = split(a, ':');
    if (parts.size() > 2) fail("invalid --cgroup argument: {}", a);
    if (parts.size() == 1) {
      if (args.size() != 1) fail("invalid --cgroup argument: {} (missing <controller>: prefix)", a);
      sub[""] = a;
    } else {
      for (const auto& ctrl : split(parts[0], ',')) sub[ctrl] = parts[1];
    }
  }
  // Below the container's cgroup, by whole components (runc compares string
  // prefixes, which lets "../c1x" reach a sibling named like it).
  auto below = [](const std::string& base, const std::string& add) {
    std::string p = join(base, add);
    if (p != base && p.rfind(base + "/", 0) != 0) fail("{} is not a sub cgroup path", add);
    return p;
  };
  if (auto all = sub.find(""); all != sub.end()) {
    for (auto& [ctrl, dir] : paths) dir = below(dir, all->second);
    return paths;
  }
  for (const auto& [ctrl, add] : sub) {
    auto it = paths.find(ctrl);
    if (it == paths.end()) fail("unknown controller {}", ctrl);
    it->second = below(it->second, add);
  }
  return paths;
}

const std::vector<std::string>& v1_subsystems() {
  static const std::vector<std::string> subs = {"cpuset",     "devices", "memory",  "cpu",          "cpuacct",
                                                "pids",       "blkio",   "hugetlb", "net_cls",      "net_prio",
                                                "perf_event", "freezer", "rdma",    "name=systemd", "misc"};
  return subs;
}

std::map<std::string, std::string> compute_paths(const std::string& cgroups_path, const std::string& id,
                                                 const std::string& proc_self_cgroup,
                                                 const std::string& mountinfo) {
  std::string inner = clean_path(cgroups_path);
  if (inner.empty() || inner == ".") inner = clean_path(id);
  if (inner.empty() || inner == "." || inner == "/") fail("cgroup path is empty (cgroupsPath \"{}\", id \"{}\")", cgroups_path, id);
  auto mounts = parse_cgroup_mounts(mountinfo);
  auto self = parse_proc_cgroup(proc_self_cgroup);
  switch (layout_from_mountinfo(mountinfo)) {
    case Layout::V2:
      return {{"", v2_path(mounts, inner, self)}};
    case Layout::Hybrid:
      return v1_paths(mounts, inner, self, true);
    case Layout::V1:
      return v1_paths(mounts, inner, self, false);
  }
  return {};
}

}  // namespace glassrun::cgroups

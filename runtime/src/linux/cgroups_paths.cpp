#include "linux/cgroups_paths.h"

#include <algorithm>
#include <string_view>

#include "util/error.h"

namespace glassrun::cgroups {
namespace {

// getline's items: "a,,b" → a, "", b; no item after a trailing separator.
// Views and plain loops, not string streams: every create parses mountinfo,
// and the streams were ~100 us of it in a fresh process (issue 18).
std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool is_octal(char c) { return c >= '0' && c <= '7'; }

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && is_octal(s[i + 1]) && is_octal(s[i + 2]) && is_octal(s[i + 3])) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The first line of text (without its newline); text keeps the rest.
std::string_view next_line(std::string_view& text) {
  size_t nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  return line;
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

// The blank-separated fields of one line, as views into it.
void fields_of(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
}

// mountinfo's mounts, or only its cgroup and cgroup2 ones (the others are
// not unescaped nor split).
std::vector<CgroupMount> parse_mounts(std::string_view text, bool cgroups_only) {
  std::vector<CgroupMount> mounts;
  std::vector<std::string_view> f;
  while (!text.empty()) {
    fields_of(next_line(text), f);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || std::distance(dash, f.end()) < 4) continue;
    std::string_view fstype = *(dash + 1);
    if (cgroups_only && fstype != "cgroup" && fstype != "cgroup2") continue;
    mounts.push_back({unescape_octal(f[3]), unescape_octal(f[4]), std::string(fstype), split(*(dash + 3), ','),
                      unescape_octal(*(dash + 2))});
  }
  return mounts;
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

std::vector<CgroupMount> parse_cgroup_mounts(const std::string& mountinfo) { return parse_mounts(mountinfo, true); }

std::vector<CgroupMount> parse_mountinfo(const std::string& mountinfo) { return parse_mounts(mountinfo, false); }

std::map<std::string, std::string> parse_proc_cgroup(const std::string& text) {
  std::map<std::string, std::string> out;
  std::string_view rest(text);
  while (!rest.empty()) {
    std::string_view line = next_line(rest);
    auto c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    auto c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    std::string path(line.substr(c2 + 1));  // may itself contain ':'
    if (controllers.empty()) {
      out[""] = path;
      continue;
    }
    for (const auto& c : split(controllers, ',')) out[c] = path;
  }
  return out;
}

Layout layout_of(const std::vector<CgroupMount>& cgroup_mounts) {
  if (find_v2_mount(cgroup_mounts, "/sys/fs/cgroup")) return Layout::V2;
  if (find_v2_mount(cgroup_mounts, "/sys/fs/cgroup/unified")) return Layout::Hybrid;
  return Layout::V1;
}

Layout layout_from_mountinfo(const std::string& mountinfo) { return layout_of(parse_cgroup_mounts(mountinfo)); }

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
  return compute_paths(cgroups_path, id, proc_self_cgroup, parse_cgroup_mounts(mountinfo));
}

std::map<std::string, std::string> compute_paths(const std::string& cgroups_path, const std::string& id,
                                                 const std::string& proc_self_cgroup,
                                                 const std::vector<CgroupMount>& mounts) {
  std::string inner = clean_path(cgroups_path);
  if (inner.empty() || inner == ".") inner = clean_path(id);
  if (inner.empty() || inner == "." || inner == "/") fail("cgroup path is empty (cgroupsPath \"{}\", id \"{}\")", cgroups_path, id);
  auto self = parse_proc_cgroup(proc_self_cgroup);
  switch (layout_of(mounts)) {
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

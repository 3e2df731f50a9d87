// Pure path computation: which directory each controller of a container uses,
// derived (as runc 1.1 does) from /proc/self/cgroup and /proc/self/mountinfo
// given as text, so tests can feed fake ones.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "linux/cgroups.h"

namespace glassrun::cgroups {

struct CgroupMount {
  std::string root;        // mountinfo field 4: the cgroup seen at the mountpoint
  std::string mountpoint;  // field 5, unescaped
  std::string fstype;      // "cgroup" or "cgroup2"
  std::vector<std::string> options;  // super options ("rw", "cpu", "name=systemd")
  std::string source = {};           // the field after the fstype ("cgroup", "glassrun-sealed")
};

// Only the cgroup and cgroup2 mounts, in mountinfo order.
std::vector<CgroupMount> parse_cgroup_mounts(const std::string& mountinfo);
// Every mount, in mountinfo order (rootfs.cpp's --no-pivot looks for procfs).
std::vector<CgroupMount> parse_mountinfo(const std::string& mountinfo);

// /proc/<pid>/cgroup → key → path; keys are each controller of a line
// ("cpu", "cpuacct", "name=systemd") and "" for the v2 line ("0::/x").
std::map<std::string, std::string> parse_proc_cgroup(const std::string& text);

Layout layout_from_mountinfo(const std::string& mountinfo);
// The same, from parse_cgroup_mounts' result (mountinfo parsed once).
Layout layout_of(const std::vector<CgroupMount>& cgroup_mounts);

// Go's utils.CleanPath: lexical clean that never climbs above the start
// ("../a" → "a", "/../a" → "/a"); "" stays "".
std::string clean_path(const std::string& path);

// The controllers runc's v1 manager knows, in the order it applies them.
const std::vector<std::string>& v1_subsystems();

// runc's cgroup_paths for a new container: cgroups_path is linux.cgroupsPath
// ("" when absent → the id, relative to the caller's own cgroup).
std::map<std::string, std::string> compute_paths(const std::string& cgroups_path, const std::string& id,
                                                 const std::string& proc_self_cgroup,
                                                 const std::string& mountinfo);
// The same, from parse_cgroup_mounts' result.
std::map<std::string, std::string> compute_paths(const std::string& cgroups_path, const std::string& id,
                                                 const std::string& proc_self_cgroup,
                                                 const std::vector<CgroupMount>& cgroup_mounts);

// `exec --cgroup [controller[,controller]:]path` (repeatable), as runc: the
// container's paths with each sub path joined below them; one argument
// without a controller applies to every hierarchy (the only form on v2).
// Throws "<p> is not a sub cgroup path", "unknown controller <c>",
// "invalid --cgroup argument: <arg>".
std::map<std::string, std::string> sub_cgroup_paths(std::map<std::string, std::string> paths,
                                                   const std::vector<std::string>& args);

}  // namespace glassrun::cgroups

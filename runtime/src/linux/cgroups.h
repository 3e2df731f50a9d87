// Cgroup placement and limits, for both layouts users have: v1 (hybrid:
// controllers under /sys/fs/cgroup/<ctrl>, cgroup2 at /sys/fs/cgroup/unified)
// and pure v2. The create flow sees only this interface; cgroups_v1.cpp and
// cgroups_v2.cpp hold each layout, cgroups_resources.cpp the spec→file mapping.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace glassrun::cgroups {

enum class Layout { V1, Hybrid, V2 };

// Reads /proc/self/mountinfo (or statfs of /sys/fs/cgroup) once.
Layout detect_layout();

class Manager {
 public:
  virtual ~Manager() = default;

  // runc's state.json "cgroup_paths": controller → absolute path ("" is the
  // unified hierarchy on hybrid and v2).
  virtual std::map<std::string, std::string> paths() const = 0;

  // mkdir every cgroup of the container, remembering which ones it made.
  virtual void create() = 0;
  // Writes linux.resources (the raw JSON of config.json); errors name the
  // field ("linux.resources.memory.limit: ...").
  virtual void apply_resources(const nlohmann::json& resources) = 0;
  // `update`: writes only the fields given (0 leaves the kernel's value) and
  // never the device rules: rewriting those on v1 starts from deny-all and
  // would briefly deny /dev/null to running processes (runc leaves them).
  virtual void update_resources(const nlohmann::json& resources) = 0;
  // Moves pid into every cgroup of the container.
  virtual void add_process(pid_t pid) = 0;

  virtual void freeze() = 0;
  virtual void thaw() = 0;
  virtual bool frozen() const = 0;
  // Host pids in the container's cgroup (the unified one on v2, else freezer/devices/pids...).
  virtual std::vector<pid_t> pids() const = 0;
  // runc `events --stats` data object (cpu, cpuset, memory, pids, blkio,
  // hugetlb), fields in runc's order.
  virtual nlohmann::ordered_json stats() const = 0;
  // Number of OOM kills so far (memory.events oom_kill / memory.oom_control).
  virtual unsigned long oom_kill_count() const = 0;

  // Removes the cgroups that create() made (deepest first); ones it did not
  // make (joined or shared) are left alone. Safe to call twice.
  virtual void destroy() = 0;
  // Which directories create() made, for state.json so `delete` knows.
  virtual std::vector<std::string> created_dirs() const = 0;
  // The mount points of the hierarchies (for a new container's manager):
  // directories that exist, so create's record of what it will make need not
  // look at them (a faccessat each).
  virtual std::vector<std::string> hierarchy_roots() const { return {}; }
};

// For `create`: cgroups_path is linux.cgroupsPath ("" when absent), id the
// container id; computes the same paths runc would on this machine.
std::unique_ptr<Manager> for_new_container(const std::string& cgroups_path, const std::string& id);

// For the commands that follow create: rebuilt from state.json's cgroup_paths
// and the created_dirs list saved with it.
std::unique_ptr<Manager> from_state(const std::map<std::string, std::string>& paths,
                                    const std::vector<std::string>& created_dirs);

}  // namespace glassrun::cgroups

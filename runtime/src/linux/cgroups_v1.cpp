// cgroup v1 (and hybrid): one directory per controller hierarchy, plus the
// unified "" dir and name=systemd, which only hold the processes.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

#include "linux/cgroups_devices.h"
#include "linux/cgroups_fs.h"
#include "linux/cgroups_impl.h"
#include "linux/cgroups_resources.h"
#include "util/error.h"

namespace glassrun::cgroups {
namespace {

std::string parent_of(const std::string& dir) { return dir.substr(0, dir.rfind('/')); }

struct CpusetValues {
  std::string cpus, mems;
};

// A new cpuset cgroup starts with empty cpus and mems, and the kernel then
// refuses tasks (ENOSPC); runc copies both down from the nearest ancestor
// that has them. Returns what dir has afterwards, so that each file is
// read once on the way down. A directory this run made (in `made`) is not
// read: it is empty, or (cgroup.clone_children) holds its parent's values,
// which are written again; its parent is in the hierarchy, being the one
// it was made in.
CpusetValues ensure_cpuset(const std::string& dir, const std::vector<std::string>& made) {
  bool fresh = std::find(made.begin(), made.end(), dir) != made.end();
  CpusetValues v;
  if (!fresh) {
    v = {fs::read_trimmed(fs::join(dir, "cpuset.cpus")), fs::read_trimmed(fs::join(dir, "cpuset.mems"))};
    if (!v.cpus.empty() && !v.mems.empty()) return v;
  }
  std::string parent = parent_of(dir);
  if (parent.empty() || (!fresh && !fs::exists(fs::join(parent, "cpuset.cpus"))))
    fail("cpuset: {} has no cpus/mems and no cpuset parent to copy them from", dir);
  CpusetValues from = ensure_cpuset(parent, made);
  if (v.cpus.empty()) fs::write(fs::join(dir, "cpuset.cpus"), v.cpus = from.cpus);
  if (v.mems.empty()) fs::write(fs::join(dir, "cpuset.mems"), v.mems = from.mems);
  return v;
}

class V1Manager : public Manager {
 public:
  V1Manager(std::map<std::string, std::string> paths, std::vector<std::string> created, std::vector<std::string> roots)
      : paths_(std::move(paths)), created_(std::move(created)), roots_(std::move(roots)) {}

  std::map<std::string, std::string> paths() const override { return paths_; }
  std::vector<std::string> hierarchy_roots() const override { return roots_; }

  void create() override {
    try {
      for (const auto& [ctrl, dir] : paths_) {
        auto made = with_context("cgroups: create " + label(ctrl), [&] { return fs::mkdir_p(dir); });
        created_.insert(created_.end(), made.begin(), made.end());
      }
      if (auto it = paths_.find("cpuset"); it != paths_.end())
        with_context("cgroups: create cpuset", [&] { ensure_cpuset(it->second, created_); });
    } catch (const Error&) {
      try { destroy(); } catch (const Error&) {}  // the first error is the one to report
      throw;
    }
  }

  void apply_resources(const nlohmann::json& resources) override {
    if (!paths_.count("devices")) fail("linux.resources.devices: no devices cgroup");
    // Devices first, after cpuset would be runc's exact order; both precede
    // the process anyway.
    apply_writes(plan_v1_devices(device_rules_from_spec(resources)), paths_);
    update_resources(resources);
  }

  void update_resources(const nlohmann::json& resources) override {
    apply_writes(plan_v1(resources, facts(resources)), paths_);
  }

  void add_process(pid_t pid) override {
    for (const auto& [ctrl, dir] : paths_)
      with_context("cgroups: add pid " + std::to_string(pid) + " to " + label(ctrl),
                   [&] { fs::write(fs::join(dir, "cgroup.procs"), std::to_string(pid)); });
  }

  void freeze() override {
    std::string state = fs::join(freezer(), "freezer.state");
    // A v1 freeze can stay FREEZING while tasks keep forking; runc rewrites
    // FROZEN, thawing now and then to let stragglers settle (its numbers).
    for (int i = 0; i < 1000; ++i) {
      if (i % 50 == 49) {
        fs::write(state, "THAWED");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      fs::write(state, "FROZEN");
      if (i % 25 == 24) std::this_thread::sleep_for(std::chrono::microseconds(10));
      std::string now = fs::read_trimmed(state);
      if (now == "FROZEN") return;
      if (now != "FREEZING") fail("cgroups: freeze: unexpected state {} in {}", now, state);
    }
    fs::write(state, "THAWED");
    fail("cgroups: freeze: {} stayed FREEZING; left thawed", state);
  }

  void thaw() override { fs::write(fs::join(freezer(), "freezer.state"), "THAWED"); }

  bool frozen() const override {
    // A cgroup already gone (container stopped) is not frozen; FROZEN because
    // an ancestor is frozen does not make the container paused either.
    auto it = paths_.find("freezer");
    if (it == paths_.end()) return false;
    auto state = fs::read_value_if_exists(fs::join(it->second, "freezer.state"));
    auto self = fs::read_value_if_exists(fs::join(it->second, "freezer.self_freezing"));
    return state && self && state->rfind("FROZEN", 0) == 0 && self->rfind("1", 0) == 0;
  }

  std::vector<pid_t> pids() const override {
    for (const char* ctrl : {"devices", "freezer", "pids", "memory"})
      if (auto it = paths_.find(ctrl); it != paths_.end()) return fs::read_procs(it->second, true);
    return fs::read_procs(paths_.begin()->second, true);
  }

  nlohmann::ordered_json stats() const override { return v1_stats(paths_); }

  unsigned long oom_kill_count() const override {
    auto it = paths_.find("memory");
    if (it == paths_.end()) return 0;
    auto control = fs::read_if_exists(fs::join(it->second, "memory.oom_control"));
    if (!control) return 0;
    std::istringstream in(*control);
    std::string key;
    unsigned long value;
    while (in >> key >> value)
      if (key == "oom_kill") return value;
    return 0;
  }

  void destroy() override {
    std::vector<std::string> leaves;
    for (const auto& [ctrl, dir] : paths_) leaves.push_back(dir);
    remove_created(created_, leaves);
  }

  std::vector<std::string> created_dirs() const override { return created_; }

 private:
  static std::string label(const std::string& ctrl) { return ctrl.empty() ? "unified" : ctrl; }

  std::string freezer() const {
    auto it = paths_.find("freezer");
    if (it == paths_.end()) fail("cgroups: freezer controller is not mounted");
    return it->second;
  }

  CgroupFacts facts(const nlohmann::json& resources) const {
    CgroupFacts f;
    FactsWanted wanted = facts_wanted(resources);
    if (auto it = paths_.find("memory"); wanted.memory && it != paths_.end()) {
      const std::string& mem = it->second;
      f.memsw = fs::exists(fs::join(mem, "memory.memsw.limit_in_bytes"));
      if (auto lim = fs::read_value_if_exists(fs::join(mem, "memory.limit_in_bytes")))
        f.memory_limit = fs::parse_uint(*lim, mem);
      if (auto use = fs::read_value_if_exists(fs::join(mem, "memory.usage_in_bytes")))
        f.memory_usage = fs::parse_uint(*use, mem);
    }
    if (auto it = paths_.find("blkio"); wanted.io && it != paths_.end())
      f.bfq = !fs::exists(fs::join(it->second, "blkio.weight")) && fs::exists(fs::join(it->second, "blkio.bfq.weight"));
    return f;
  }

  std::map<std::string, std::string> paths_;
  std::vector<std::string> created_;
  std::vector<std::string> roots_;
};

}  // namespace

std::unique_ptr<Manager> make_v1_manager(std::map<std::string, std::string> paths, std::vector<std::string> created,
                                         std::vector<std::string> roots) {
  return std::make_unique<V1Manager>(std::move(paths), std::move(created), std::move(roots));
}

}  // namespace glassrun::cgroups

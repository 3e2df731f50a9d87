// Pure cgroup v2: one directory; controllers must be enabled in every
// ancestor's cgroup.subtree_control; devices are a BPF program.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <sstream>

#include "linux/cgroups_devices.h"
#include "linux/cgroups_fs.h"
#include "linux/cgroups_impl.h"
#include "linux/cgroups_resources.h"
#include "linux/device_filter.h"
#include "util/error.h"
#include "util/fd.h"

namespace glassrun::cgroups {
namespace {

const std::string kRoot = "/sys/fs/cgroup";

// "+cpu +memory ..." for every controller the root offers.
std::string all_controllers() {
  std::istringstream in(fs::read(fs::join(kRoot, "cgroup.controllers")));
  std::string c, out;
  while (in >> c) out += (out.empty() ? "+" : " +") + c;
  return out;
}

void enable_controllers(const std::string& dir, const std::string& controllers) {
  if (controllers.empty()) return;
  try {
    fs::write(fs::join(dir, "cgroup.subtree_control"), controllers);
  } catch (const Error&) {
    // Some may be unavailable here (delegation); enable what can be, and let
    // the resource writes report what is missing.
    std::istringstream in(controllers);
    std::string c;
    while (in >> c) {
      try { fs::write(fs::join(dir, "cgroup.subtree_control"), c); } catch (const Error&) {}
    }
  }
}

// A cgroup whose parent has processes and controllers enabled is "domain
// invalid": nothing with domain controllers can live there.
void check_type(const std::string& dir) {
  auto type = fs::read_value_if_exists(fs::join(dir, "cgroup.type"));
  if (type && type->rfind("domain invalid", 0) == 0)
    fail("cannot enter cgroupv2 {} with domain controllers -- it is in an invalid state", dir);
}

// Value of "<key> <n>" in a flat keyed file (cgroup.events, memory.events).
std::optional<uint64_t> keyed_value(const std::string& content, const std::string& key) {
  std::istringstream in(content);
  std::string k, v;
  while (in >> k >> v)
    if (k == key) return fs::parse_uint(v, key);
  return std::nullopt;
}

// cgroup.events changes are signalled as POLLPRI; bounded at ~10 s.
void wait_frozen(const std::string& dir, bool want) {
  std::string path = fs::join(dir, "cgroup.events");
  fs::At a = fs::at(path);
  UniqueFd fd(::openat(a.dirfd, a.rel, O_RDONLY | O_CLOEXEC));
  if (!fd) throw_sys("open " + path);
  char buf[512];
  for (int i = 0; i < 100; ++i) {
    ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    if (n < 0) throw_sys("read " + path);
    if (keyed_value(std::string(buf, static_cast<size_t>(n)), "frozen").value_or(0) == (want ? 1u : 0u)) return;
    pollfd p{fd.get(), POLLPRI, 0};
    ::poll(&p, 1, 100);
  }
  fail("cgroups: {} did not report frozen {} within 10s", path, want ? 1 : 0);
}

class V2Manager : public Manager {
 public:
  V2Manager(std::string path, std::vector<std::string> created) : path_(std::move(path)), created_(std::move(created)) {}

  std::map<std::string, std::string> paths() const override { return {{"", path_}}; }
  std::vector<std::string> hierarchy_roots() const override { return {kRoot}; }

  void create() override {
    if (path_.rfind(kRoot + "/", 0) != 0) fail("cgroups: invalid cgroup path {} (not under {})", path_, kRoot);
    try {
      with_context("cgroups: create " + path_, [&] { create_path(); });
    } catch (const Error&) {
      try { destroy(); } catch (const Error&) {}
      throw;
    }
  }

  void apply_resources(const nlohmann::json& resources) override {
    update_resources(resources);
    auto rules = device_rules_from_spec(resources);
    with_context("linux.resources.devices", [&] { attach_device_program(path_, build_device_program(rules)); });
  }

  void update_resources(const nlohmann::json& resources) override {
    apply_writes(plan_v2(resources, facts(resources)), {{"", path_}});
  }

  void add_process(pid_t pid) override {
    with_context("cgroups: add pid " + std::to_string(pid),
                 [&] { fs::write(fs::join(path_, "cgroup.procs"), std::to_string(pid)); });
  }

  void freeze() override {
    with_context("cgroups: freeze", [&] {
      fs::write(fs::join(path_, "cgroup.freeze"), "1");
      wait_frozen(path_, true);
    });
  }

  void thaw() override {
    with_context("cgroups: thaw", [&] {
      fs::write(fs::join(path_, "cgroup.freeze"), "0");
      wait_frozen(path_, false);
    });
  }

  bool frozen() const override {
    auto v = fs::read_value_if_exists(fs::join(path_, "cgroup.freeze"));
    return v && v->rfind("1", 0) == 0;
  }

  std::vector<pid_t> pids() const override { return fs::read_procs(path_, true); }

  nlohmann::ordered_json stats() const override { return v2_stats(path_); }

  unsigned long oom_kill_count() const override {
    auto events = fs::read_if_exists(fs::join(path_, "memory.events"));
    return events ? keyed_value(*events, "oom_kill").value_or(0) : 0;
  }

  void destroy() override { remove_created(created_, {path_}); }

  std::vector<std::string> created_dirs() const override { return created_; }

 private:
  // runc's CreateCgroupPath: mkdir each level below the root and enable all
  // controllers in every level above the leaf.
  void create_path() {
    std::string controllers = all_controllers();
    std::string current = kRoot;
    std::istringstream rest(path_.substr(kRoot.size()));
    std::string part;
    while (std::getline(rest, part, '/')) {
      if (part.empty()) continue;
      enable_controllers(current, controllers);
      current += "/" + part;
      auto made = fs::mkdir_p(current);
      created_.insert(created_.end(), made.begin(), made.end());
      check_type(current);
    }
  }

  CgroupFacts facts(const nlohmann::json& resources) const {
    CgroupFacts f;
    FactsWanted wanted = facts_wanted(resources);
    if (auto cur = wanted.memory ? fs::read_value_if_exists(fs::join(path_, "memory.current")) : std::nullopt)
      f.memory_usage = fs::parse_uint(*cur, path_);
    f.bfq = wanted.io && fs::exists(fs::join(path_, "io.bfq.weight"));
    return f;
  }

  std::string path_;
  std::vector<std::string> created_;
};

}  // namespace

std::unique_ptr<Manager> make_v2_manager(std::string path, std::vector<std::string> created) {
  return std::make_unique<V2Manager>(std::move(path), std::move(created));
}

}  // namespace glassrun::cgroups

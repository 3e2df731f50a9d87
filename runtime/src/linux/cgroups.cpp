#include "linux/cgroups.h"

#include <algorithm>
#include <cerrno>
#include <unistd.h>

#include "linux/cgroups_fs.h"
#include "linux/cgroups_impl.h"
#include "linux/cgroups_paths.h"
#include "util/error.h"

namespace glassrun::cgroups {

Layout detect_layout() { return layout_from_mountinfo(fs::read("/proc/self/mountinfo")); }

std::unique_ptr<Manager> for_new_container(const std::string& cgroups_path, const std::string& id) {
  // mountinfo parsed once for the paths, the layout and the hierarchies' roots.
  std::vector<CgroupMount> mounts = parse_cgroup_mounts(fs::read("/proc/self/mountinfo"));
  auto paths = with_context("cgroups", [&] {
    return compute_paths(cgroups_path, id, fs::read("/proc/self/cgroup"), mounts);
  });
  if (layout_of(mounts) == Layout::V2) return make_v2_manager(paths.at(""), {});
  std::vector<std::string> roots;
  for (const auto& m : mounts) roots.push_back(m.mountpoint);
  return make_v1_manager(std::move(paths), {}, std::move(roots));
}

namespace {

// A rootless container without a delegated cgroup (empty cgroup_paths): there
// is nothing to join, limit, or remove; what needs a cgroup says so.
class NoCgroup : public Manager {
 public:
  std::map<std::string, std::string> paths() const override { return {}; }
  void create() override {}
  void apply_resources(const nlohmann::json&) override {}
  void update_resources(const nlohmann::json&) override {}
  void add_process(pid_t) override {}
  void freeze() override { none("freeze"); }
  void thaw() override { none("thaw"); }
  bool frozen() const override { return false; }
  std::vector<pid_t> pids() const override { return {}; }
  nlohmann::ordered_json stats() const override { return nlohmann::ordered_json::object(); }
  unsigned long oom_kill_count() const override { return 0; }
  void destroy() override {}
  std::vector<std::string> created_dirs() const override { return {}; }

 private:
  [[noreturn]] static void none(const char* what) {
    fail("cgroups: {}: the container has no cgroup (rootless without a delegated cgroup)", what);
  }
};

}  // namespace

std::unique_ptr<Manager> from_state(const std::map<std::string, std::string>& paths,
                                    const std::vector<std::string>& created_dirs) {
  // Only "" means pure v2; hybrid has "" next to the v1 controllers.
  if (paths.size() == 1 && paths.count("")) return make_v2_manager(paths.at(""), created_dirs);
  // Empty: a rootless container that went on without cgroups.
  if (paths.empty()) return std::make_unique<NoCgroup>();
  return make_v1_manager(paths, created_dirs);
}

namespace {

size_t depth(const std::string& p) { return static_cast<size_t>(std::count(p.begin(), p.end(), '/')); }

// rmdir of a parent cgroup we made: false if others' cgroups are below it;
// other errors are retried a few times, then thrown.
bool rmdir_parent(const std::string& dir) {
  for (int attempt = 0;; ++attempt) {
    if (fs::rmdir(dir) == 0 || errno == ENOENT) return true;
    if (errno == EBUSY || errno == ENOTEMPTY) return false;
    if (attempt == 3) throw_sys("rmdir " + dir);
    usleep(20000);
  }
}

}  // namespace

void remove_created(std::vector<std::string>& created, const std::vector<std::string>& leaves) {
  std::vector<std::string> order = created;
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return depth(a) > depth(b); });
  std::vector<std::string> left;
  std::string first_error;
  for (const auto& dir : order) {
    bool leaf = std::find(leaves.begin(), leaves.end(), dir) != leaves.end();
    try {
      if (leaf) {
        fs::remove_tree(dir);
      } else if (!rmdir_parent(dir)) {
        left.push_back(dir);  // another container's cgroup lives below it: not ours to remove now
      }
    } catch (const Error& e) {
      if (first_error.empty()) first_error = e.what();
      left.push_back(dir);
    }
  }
  created = left;
  if (!first_error.empty()) fail("cgroups: destroy: {}", first_error);
}

}  // namespace glassrun::cgroups

// The cgroup manager against the real kernel of this machine (whatever its
// layout). Needs root; skipped otherwise. Every test cleans up what it made,
// also when an assertion fails (Sandbox's destructor).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "linux/cgroups.h"
#include "linux/cgroups_fs.h"
#include "linux/cgroups_placement.h"
#include "linux/device_filter.h"
#include "util/error.h"

namespace glassrun::cgroups {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

bool dir_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

pid_t spawn_sleeper() {
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  return pid;
}

// Owns the manager, the sleeper and any extra dirs; tears all down.
struct Sandbox {
  std::unique_ptr<Manager> m;
  pid_t child = -1;
  std::vector<std::string> extra_dirs;  // rmdir'd last, deepest first

  ~Sandbox() {
    if (child > 0) {
      if (m) {
        try { m->thaw(); } catch (...) {}
      }
      kill(child, SIGKILL);
      waitpid(child, nullptr, 0);
    }
    if (m) {
      try { m->destroy(); } catch (const std::exception& e) { ADD_FAILURE() << e.what(); }
    }
    std::sort(extra_dirs.begin(), extra_dirs.end(), [](auto& a, auto& b) { return a.size() > b.size(); });
    for (const auto& d : extra_dirs) rmdir(d.c_str());
  }
};

std::string test_id(const char* what) { return fmt::format("glassrun-cgtest-{}-{}", what, getpid()); }

class CgroupKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!dir_exists("/sys/fs/cgroup")) GTEST_SKIP() << "no /sys/fs/cgroup";
    layout_ = detect_layout();
  }
  // The file of a controller's setting, per layout.
  std::string file(const Manager& m, const char* v1_ctrl, const char* v1_file, const char* v2_file) {
    auto p = m.paths();
    return layout_ == Layout::V2 ? p.at("") + "/" + v2_file : p.at(v1_ctrl) + "/" + v1_file;
  }
  Layout layout_ = Layout::V1;
};

TEST_F(CgroupKernel, LifecycleWithLimitsFreezeStatsAndDestroy) {
  Sandbox sb;
  sb.m = for_new_container("", test_id("life"));
  Manager& m = *sb.m;
  m.create();
  for (const auto& [ctrl, dir] : m.paths()) EXPECT_TRUE(dir_exists(dir)) << ctrl << " " << dir;
  EXPECT_FALSE(m.created_dirs().empty());

  m.apply_resources(nlohmann::json::parse(
      R"({"devices": [{"allow": false, "access": "rwm"}],
          "memory": {"limit": 67108864}, "pids": {"limit": 32},
          "cpu": {"quota": 50000, "period": 100000}})"));
  EXPECT_EQ(slurp(file(m, "memory", "memory.limit_in_bytes", "memory.max")), "67108864");
  EXPECT_EQ(slurp(file(m, "pids", "pids.max", "pids.max")), "32");
  if (layout_ == Layout::V2) {
    EXPECT_EQ(slurp(file(m, "cpu", "", "cpu.max")), "50000 100000");
  } else {
    EXPECT_EQ(slurp(file(m, "cpu", "cpu.cfs_quota_us", "")), "50000");
    EXPECT_EQ(slurp(file(m, "cpu", "cpu.cfs_period_us", "")), "100000");
    EXPECT_NE(slurp(file(m, "devices", "devices.list", "")).find("c 1:3 rwm"), std::string::npos);
    EXPECT_EQ(slurp(file(m, "devices", "devices.list", "")).find("a *:* rwm"), std::string::npos);
  }

  sb.child = spawn_sleeper();
  ASSERT_GT(sb.child, 0);
  m.add_process(sb.child);
  for (const auto& [ctrl, dir] : m.paths())
    EXPECT_EQ(slurp(dir + "/cgroup.procs"), std::to_string(sb.child)) << ctrl;
  EXPECT_EQ(m.pids(), std::vector<pid_t>{sb.child});

  EXPECT_FALSE(m.frozen());
  m.freeze();
  EXPECT_TRUE(m.frozen());
  if (layout_ != Layout::V2) {
    EXPECT_EQ(slurp(m.paths().at("freezer") + "/freezer.state"), "FROZEN");
  }
  m.thaw();
  EXPECT_FALSE(m.frozen());

  auto st = m.stats();
  EXPECT_EQ(st["memory"]["usage"]["limit"].get<uint64_t>(), 67108864u) << st.dump();
  EXPECT_EQ(st["pids"]["current"].get<uint64_t>(), 1u) << st.dump();
  EXPECT_EQ(st["pids"]["limit"].get<uint64_t>(), 32u) << st.dump();
  EXPECT_TRUE(st["cpu"]["usage"].contains("kernel")) << st.dump();
  EXPECT_EQ(m.oom_kill_count(), 0u);

  kill(sb.child, SIGKILL);
  waitpid(sb.child, nullptr, 0);
  sb.child = -1;
  auto paths = m.paths();
  m.destroy();
  for (const auto& [ctrl, dir] : paths) EXPECT_FALSE(dir_exists(dir)) << ctrl << " " << dir;
  EXPECT_TRUE(m.created_dirs().empty());
  m.destroy();  // twice is fine
}

TEST_F(CgroupKernel, DestroyRemovesParentsItMadeButNotPreexistingOnes) {
  std::string made_parent = "/" + test_id("made");
  std::string kept_parent = "/" + test_id("kept");
  Sandbox keep_dirs;  // declared first: its dirs go after the managers' dirs
  // Pre-create kept_parent in every hierarchy, as another tool would have.
  {
    auto probe = for_new_container(kept_parent, "x");
    for (const auto& [ctrl, dir] : probe->paths()) {
      for (const auto& d : fs::mkdir_p(dir)) keep_dirs.extra_dirs.push_back(d);
    }
  }
  for (const std::string& parent : {made_parent, kept_parent}) {
    Sandbox sb;
    sb.m = for_new_container(parent + "/c1", "ignored");
    sb.m->create();
    sb.child = spawn_sleeper();
    sb.m->add_process(sb.child);
    kill(sb.child, SIGKILL);
    waitpid(sb.child, nullptr, 0);
    sb.child = -1;
    auto paths = sb.m->paths();
    sb.m->destroy();
    for (const auto& [ctrl, dir] : paths) {
      EXPECT_FALSE(dir_exists(dir)) << dir;
      std::string parent_dir = dir.substr(0, dir.rfind('/'));
      EXPECT_EQ(dir_exists(parent_dir), parent == kept_parent) << parent_dir;
    }
  }
}

// destroy tries rmdir first and lists the directory only when that fails:
// cgroups made below the container's own (exec --cgroup, a nested manager)
// must still go, deepest first.
TEST_F(CgroupKernel, DestroyRemovesCgroupsMadeBelowTheLeaf) {
  Sandbox sb;
  sb.m = for_new_container("", test_id("nested"));
  sb.m->create();
  auto paths = sb.m->paths();
  for (const auto& [ctrl, dir] : paths) {
    ASSERT_EQ(::mkdir((dir + "/sub").c_str(), 0755), 0) << dir;
    ASSERT_EQ(::mkdir((dir + "/sub/deeper").c_str(), 0755), 0) << dir;
  }
  sb.m->destroy();
  for (const auto& [ctrl, dir] : paths) EXPECT_FALSE(dir_exists(dir)) << ctrl << " " << dir;
}

TEST_F(CgroupKernel, WriteErrorsNameFieldValueAndPath) {
  Sandbox sb;
  sb.m = for_new_container("", test_id("err"));
  sb.m->create();
  try {
    sb.m->apply_resources({{"cpu", {{"cpus", "4095"}}}});
    FAIL() << "cpuset.cpus 4095 accepted";
  } catch (const Error& e) {
    std::string path = (layout_ == Layout::V2 ? sb.m->paths().at("") : sb.m->paths().at("cpuset")) + "/cpuset.cpus";
    // The errno text differs by kernel (EINVAL, ERANGE); the context must not.
    std::string want = "linux.resources.cpu.cpus: write 4095 to " + path + ": ";
    EXPECT_EQ(std::string(e.what()).substr(0, want.size()), want);
    EXPECT_GT(std::string(e.what()).size(), want.size());
  }
}

// The v2 device program, attached to a cgroup of the unified hierarchy
// (/sys/fs/cgroup/unified on hybrid): a child in it may open /dev/null
// but not /dev/zero.
TEST_F(CgroupKernel, DeviceProgramFiltersOpens) {
  if (layout_ == Layout::V1) GTEST_SKIP() << "no cgroup2 hierarchy";
  std::string root = layout_ == Layout::V2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
  Sandbox sb;
  std::string dir = root + "/" + test_id("dev");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  sb.extra_dirs.push_back(dir);
  attach_device_program(dir, build_device_program({{'a', -1, -1, "rwm", false}, {'c', 1, 3, "rwm", true}}));
  // Attaching again replaces (one program stays, the old one is detached).
  attach_device_program(dir, build_device_program({{'a', -1, -1, "rwm", false}, {'c', 1, 3, "rwm", true}}));

  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    close(ready[1]);
    if (read(ready[0], &c, 1) != 1) _exit(10);  // wait until moved into the cgroup
    int null_fd = open("/dev/null", O_RDWR);
    int zero_fd = open("/dev/zero", O_RDONLY);
    _exit((null_fd >= 0 ? 0 : 1) | (zero_fd < 0 && errno == EPERM ? 0 : 2));
  }
  close(ready[0]);
  fs::write(dir + "/cgroup.procs", std::to_string(pid));
  ASSERT_EQ(write(ready[1], "x", 1), 1);
  close(ready[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: /dev/null refused, 2: /dev/zero allowed";
}

// Paths under /sys/fs/cgroup are walked from one directory fd of it, and
// no child of clone_into (the init, exec's process) holds that fd or opens
// it again: ".." from it would leave any container.
TEST_F(CgroupKernel, CgroupfsDirectoryFdStaysOutOfClonedChildren) {
  std::string probe = "/sys/fs/cgroup/" + test_id("at");
  fs::At a = fs::at(probe);
  ASSERT_NE(a.dirfd, AT_FDCWD);
  EXPECT_STREQ(a.rel, probe.c_str() + strlen("/sys/fs/cgroup/"));
  struct stat st {};
  ASSERT_EQ(fstat(a.dirfd, &st), 0);
  int held = a.dirfd;
  EXPECT_FALSE(fs::exists(probe));  // walks from the fd, same answer

  Placement none;
  pid_t pid = clone_into(0, none);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    bool still_open = fcntl(held, F_GETFD) >= 0;
    fs::At again = fs::at(probe);  // must not open it anew
    _exit((still_open ? 1 : 0) | (again.dirfd != AT_FDCWD ? 2 : 0) | (strcmp(again.rel, probe.c_str()) ? 4 : 0));
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: fd inherited, 2: reopened in the child, 4: path not given whole";
  // The parent closed it before the clone and opens it again when asked.
  EXPECT_NE(fs::at(probe).dirfd, AT_FDCWD);
  EXPECT_EQ(fs::at("/proc/self").dirfd, AT_FDCWD);  // other paths are walked as given
}

}  // namespace
}  // namespace glassrun::cgroups

#include <gtest/gtest.h>

#include "diff.h"
#include "milestones.h"
#include "test_events.h"

using namespace glasstrace;
using glasstrace::testing::syscall_event;

namespace {

// A runc-like start: rootfs opened O_PATH, mount via /proc/self/fd, chdir +
// pivot_root(".", "."), masking, capabilities, seccomp, exec.
std::vector<Json> runc_like(const std::string& hostname = "box") {
  const std::string root = "/tmp/b/rootfs";
  std::vector<Json> ev;
  uint64_t ts = 100;
  auto add = [&](Json e) { ev.push_back(std::move(e)); };
  add(syscall_event(10, ts++, "clone", {0x20000000 | 0x00020000 | 17}, {{"flags", "CLONE_NEWNS|CLONE_NEWPID|SIGCHLD"}}, 11));
  add(syscall_event(10, ts++, "write", {5, 0, 2}, {{"fd", 5}, {"buf", "11"}, {"fd_path", "/pids/x/cgroup.procs"}}, 2));
  add(syscall_event(11, ts++, "sethostname", {0, 3}, {{"name", hostname}, {"len", 3}}));
  add(syscall_event(11, ts++, "openat", {uint64_t(-100), 0, 0}, {{"dirfd", "AT_FDCWD"}, {"pathname", root + "/proc"}, {"flags", "O_RDONLY|O_PATH"}}, 7));
  add(syscall_event(11, ts++, "mount", {0, 0, 0, 14}, {{"source", "proc"}, {"target", "/proc/self/fd/7"}, {"filesystemtype", "proc"}, {"mountflags", "MS_NOSUID|MS_NODEV|MS_NOEXEC"}, {"data", nullptr}}));
  add(syscall_event(11, ts++, "close", {7}, {{"fd", 7}}));
  add(syscall_event(11, ts++, "mount", {0, 0, 0, 4096}, {{"source", "/dev/null"}, {"target", "/proc/kcore"}, {"filesystemtype", nullptr}, {"mountflags", "MS_BIND"}, {"data", nullptr}}, 0));
  add(syscall_event(11, ts++, "chdir", {0}, {{"path", root}}));
  add(syscall_event(11, ts++, "pivot_root", {0, 0}, {{"new_root", "."}, {"put_old", "."}}));
  add(syscall_event(11, ts++, "umount2", {0, 2}, {{"target", "."}, {"flags", "MNT_DETACH"}}));
  add(syscall_event(11, ts++, "prctl", {24, 21}, {{"option", "PR_CAPBSET_DROP"}, {"arg2", "CAP_SYS_ADMIN"}}));
  add(syscall_event(11, ts++, "prctl", {38, 1}, {{"option", "PR_SET_NO_NEW_PRIVS"}, {"arg2", 1}}));
  add(syscall_event(11, ts++, "seccomp", {1, 0, 0}, {{"operation", "SECCOMP_SET_MODE_FILTER"}}));
  add(syscall_event(11, ts++, "capset", {0, 0}, {{"datap", {{"effective", {"CAP_KILL"}}, {"permitted", {"CAP_KILL"}}, {"inheritable", Json::array()}}}}));
  add(syscall_event(11, ts++, "execve", {0, 0, 0}, {{"pathname", "/bin/sh"}, {"argv", {"sh", "-c", "true"}}}, 0, 1));
  // Noise that is not a milestone: a failed mount, a plain open.
  add(syscall_event(11, ts++, "mount", {0, 0, 0, 0}, {{"source", "x"}, {"target", "/y"}, {"filesystemtype", "tmpfs"}, {"mountflags", "0"}, {"data", nullptr}}, -1));
  return ev;
}

std::vector<std::string> keys(const MilestoneList& m) {
  std::vector<std::string> out;
  for (const auto& x : m.items) out.push_back(x.key());
  return out;
}

}  // namespace

TEST(Milestones, ExtractsRuncLikeSequence) {
  auto m = extract_milestones(trace_from_events(runc_like()));
  EXPECT_EQ(m.rootfs, "/tmp/b/rootfs");
  std::vector<std::string> want{
      "ns.create mnt,pid",      "cgroup.attach cgroup.procs", "hostname box",
      "mount /proc (proc)",     "mask /proc/kcore",           "pivot_root /",
      "umount /",               "capbset.drop CAP_SYS_ADMIN", "no_new_privs 1",
      "seccomp filter",         "capset effective=1 permitted=1 inheritable=0",
      "exec /bin/sh sh -c true",
  };
  EXPECT_EQ(keys(m), want);
}

TEST(Milestones, JsonShape) {
  auto j = milestones_json(extract_milestones(trace_from_events(runc_like())));
  EXPECT_EQ(j["v"], 1);
  EXPECT_EQ(j["rootfs"], "/tmp/b/rootfs");
  ASSERT_TRUE(j["milestones"].is_array());
  EXPECT_EQ(j["milestones"][3]["kind"], "mount");
  EXPECT_EQ(j["milestones"][3]["detail"], "/proc (proc)");
  EXPECT_EQ(j["milestones"][3]["syscall"], "mount");
}

TEST(Milestones, ConsecutiveDuplicatesFold) {
  std::vector<Json> ev;
  for (int i = 0; i < 3; i++)
    ev.push_back(syscall_event(1, 10 + i, "setns", {3, 0x40000000}, {{"fd", 3}, {"nstype", "CLONE_NEWNET"}}));
  auto m = extract_milestones(trace_from_events(ev));
  ASSERT_EQ(m.items.size(), 1u);
  EXPECT_EQ(m.items[0].count, 3u);
  EXPECT_EQ(m.items[0].key(), "ns.join net");
}

TEST(Milestones, Clone3IntoACgroupIsACgroupAttach) {
  // glassrun's init: born in the unified cgroup, then "0" into a v1 tasks file.
  std::vector<Json> ev;
  ev.push_back(syscall_event(10, 1, "clone3", {0, 88}, {{"flags", "CLONE_NEWNS|CLONE_NEWPID|CLONE_INTO_CGROUP"}}, 11));
  ev.push_back(syscall_event(11, 2, "write", {9, 0, 1}, {{"fd", 9}, {"buf", "0"}, {"fd_path", "/pids/x/tasks"}}, 1));
  ev.push_back(syscall_event(10, 3, "clone3", {0, 88}, {{"flags", "CLONE_VM|CLONE_VFORK"}}, 12));  // no cgroup: no attach
  auto m = extract_milestones(trace_from_events(ev));
  EXPECT_EQ(keys(m), (std::vector<std::string>{"cgroup.attach clone3 CLONE_INTO_CGROUP", "ns.create mnt,pid",
                                               "cgroup.attach tasks"}));
}

TEST(Diff, EqualTracesHaveNoDifferences) {
  auto a = extract_milestones(trace_from_events(runc_like()));
  auto b = extract_milestones(trace_from_events(runc_like()));
  auto d = diff_milestones(a, b);
  EXPECT_FALSE(has_differences(d));
  EXPECT_EQ(d.size(), a.items.size());
}

TEST(Diff, ShowsChangedAndMissingMilestones) {
  auto ev_b = runc_like("other");
  ev_b.erase(ev_b.begin() + 6);  // no masking of /proc/kcore in B
  auto a = extract_milestones(trace_from_events(runc_like()));
  auto b = extract_milestones(trace_from_events(ev_b));
  auto d = diff_milestones(a, b);
  ASSERT_TRUE(has_differences(d));
  int only_a = 0, only_b = 0;
  for (const auto& l : d) {
    if (l.op == DiffLine::OnlyA) only_a++;
    if (l.op == DiffLine::OnlyB) only_b++;
  }
  EXPECT_EQ(only_a, 2);  // hostname box, mask /proc/kcore
  EXPECT_EQ(only_b, 1);  // hostname other
  std::string text = diff_text(d, "a.jsonl", "b.jsonl");
  EXPECT_NE(text.find("- mask          /proc/kcore"), std::string::npos) << text;
  EXPECT_NE(text.find("hostname      other"), std::string::npos) << text;
}

TEST(Milestones, MountSetattrIsAMountOfItsTarget) {
  // glassrun's cgroup binds made read-only at once, through the tmpfs's fd.
  std::vector<Json> ev;
  ev.push_back(syscall_event(11, 1, "openat", {uint64_t(-100), 0, 0},
                             {{"dirfd", "AT_FDCWD"}, {"pathname", "/sys/fs/cgroup"}, {"flags", "O_RDONLY|O_PATH"}}, 7));
  ev.push_back(syscall_event(11, 2, "mount_setattr", {7, 0, 0x9000, 0, 32},
                             {{"dirfd", 7}, {"pathname", ""}, {"flags", "AT_EMPTY_PATH|AT_RECURSIVE"}}));
  ev.push_back(syscall_event(11, 3, "mount_setattr", {7, 0, 0x1000, 0, 32},
                             {{"dirfd", 7}, {"pathname", ""}, {"flags", "AT_EMPTY_PATH"}}));
  auto m = extract_milestones(trace_from_events(ev));
  EXPECT_EQ(keys(m), (std::vector<std::string>{"mount /sys/fs/cgroup (setattr recursive)",
                                               "mount /sys/fs/cgroup (setattr)"}));
}

TEST(Milestones, MountTargetNamedBelowAnFdsDirectory) {
  // glassrun binds each cgroup hierarchy at "/proc/self/fd/N/NAME": NAME in
  // the directory fd N is open on (its tmpfs), with no fd of its own.
  std::vector<Json> ev;
  ev.push_back(syscall_event(11, 1, "openat", {uint64_t(-100), 0, 0},
                             {{"dirfd", "AT_FDCWD"}, {"pathname", "/sys/fs/cgroup"}, {"flags", "O_RDONLY|O_PATH"}}, 9));
  ev.push_back(syscall_event(11, 2, "mount", {0, 0, 0, 0x5000},
                             {{"source", "/sys/fs/cgroup/blkio/c1"}, {"target", "/proc/self/fd/9/blkio"},
                              {"filesystemtype", nullptr}, {"mountflags", "MS_BIND|MS_REC"}, {"data", nullptr}}));
  auto m = extract_milestones(trace_from_events(ev));
  EXPECT_EQ(keys(m), (std::vector<std::string>{"mount /sys/fs/cgroup/blkio (bind)"}));
}

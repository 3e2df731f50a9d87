// The normalised comparison behind `glasstrace diff --changes`, the
// conformance suite's syscall-order check: each normalisation and each kind
// of change, shown on hand-made milestones and events.
#include <gtest/gtest.h>

#include "compare.h"
#include "milestones.h"
#include "test_events.h"

using namespace glasstrace;
using glasstrace::testing::syscall_event;

namespace {

MilestoneList list(std::vector<std::pair<std::string, std::string>> kd) {
  MilestoneList m;
  for (auto& [k, d] : kd) m.items.push_back(Milestone{k, d, "", 1, 1, 1, 0});
  return m;
}

std::vector<std::string> keys(const MilestoneList& m) {
  std::vector<std::string> out;
  for (const auto& x : m.items) out.push_back(x.key());
  return out;
}

std::vector<std::string> changes(const Comparison& c) {
  std::vector<std::string> out;
  for (const auto& x : c.changes) out.push_back(x.change + " " + x.key + " @" + std::to_string(x.step));
  return out;
}

}  // namespace

TEST(Compare, PerRunPathsIdsAndFdsBecomeTokens) {
  auto m = list({{"mount", "/tmp/a/root/cf-x-1/runc.lHJ33C (bind)"},
                 {"mount", "/proc/123/fd/7 (bind)"},
                 {"mount", "/proc/self/fd/12 (bind-remount)"},
                 {"exec", "/bin/sh sh -c line one\nline two"}});
  // the longest value first: <root>/<id>, not a prefix of it
  auto n = normalise_milestones(m, {{"/tmp/a/root", "<root>"}, {"cf-x-1", "<id>"}, {"/tmp/a", "<tmp>"}});
  EXPECT_EQ(keys(n), (std::vector<std::string>{"mount <root>/<id>/runc.<rand> (bind)", "mount /proc/<pid>/fd/7 (bind)",
                                               "mount /proc/self/fd/<fd> (bind-remount)", "exec /bin/sh sh -c line one"}));
}

TEST(Compare, CgroupAttachGatheredAndCounted) {
  auto m = list({{"cgroup.attach", "cgroup.procs"}, {"mount", "/x (bind)"}, {"cgroup.attach", "cgroup.procs"},
                 {"ns.create", "pid"}});
  m.items[2].count = 4;
  EXPECT_EQ(keys(normalise_milestones(m)),
            (std::vector<std::string>{"cgroup.attach cgroup.procs (x5)", "mount /x (bind)", "ns.create pid"}));
}

TEST(Compare, CgroupControllerRunsSortedStably) {
  auto m = list({{"mount", "/sys/fs/cgroup (tmpfs)"}, {"mount", "/sys/fs/cgroup/pids (bind)"},
                 {"mount", "/sys/fs/cgroup/pids (bind-remount)"}, {"mount", "/sys/fs/cgroup/cpu (bind)"},
                 {"mount", "/sys/fs/cgroup/cpu (bind-remount)"}, {"pivot_root", "/"}});
  EXPECT_EQ(keys(normalise_milestones(m)),
            (std::vector<std::string>{"mount /sys/fs/cgroup (tmpfs)", "mount /sys/fs/cgroup/cpu (bind)",
                                      "mount /sys/fs/cgroup/cpu (bind-remount)", "mount /sys/fs/cgroup/pids (bind)",
                                      "mount /sys/fs/cgroup/pids (bind-remount)", "pivot_root /"}));
}

TEST(Compare, RuncsSecondBoundingPassFoldsOnlyWhenItRepeats) {
  auto twice = list({{"capbset.drop", "CAP_A"}, {"capbset.drop", "CAP_B"}, {"capbset.drop", "CAP_A"},
                     {"capbset.drop", "CAP_B"}, {"capset", "x"}});
  EXPECT_EQ(keys(normalise_milestones(twice)),
            (std::vector<std::string>{"capbset.drop CAP_A", "capbset.drop CAP_B",
                                      "capbset.drop <second pass repeating the 2 drops above>", "capset x"}));
  // a second pass that differs is not folded: a missing capability shows
  auto other = list({{"capbset.drop", "CAP_A"}, {"capbset.drop", "CAP_B"}, {"capbset.drop", "CAP_A"}});
  EXPECT_EQ(keys(normalise_milestones(other)), keys(other));
}

TEST(Compare, MovedAbsentAndExtraWithTheirSteps) {
  auto a = list({{"ns.create", "a"}, {"hostname", "h"}, {"mount", "/proc (proc)"}, {"mount", "/x (bind)"}});
  auto b = list({{"ns.create", "a"}, {"mount", "/proc (proc)"}, {"hostname", "h"}, {"mount", "/y (bind)"}});
  auto c = compare_milestones(a, b);
  // aligned: ns.create a, +mount /proc, hostname h, -mount /proc, -mount /x, +mount /y
  EXPECT_EQ(changes(c), (std::vector<std::string>{"moved +mount /proc (proc) @2", "moved -mount /proc (proc) @4",
                                                  "absent -mount /x (bind) @5", "extra +mount /y (bind) @6"}));
  EXPECT_EQ(c.lines_a[2], "hostname h");
  EXPECT_EQ(c.lines_b[4], "");   // step 5 is only in A
  auto j = comparison_json(c);
  EXPECT_FALSE(j["equal"].get<bool>());
  EXPECT_EQ(j["changes"][2]["key"], "-mount /x (bind)");
  EXPECT_EQ(j["changes"][2]["step"], 5);
  EXPECT_EQ(j["lines"][4]["b"], nullptr);
}

TEST(Diff, ARunMadeElsewhereShowsAsThatRunMoved) {
  // crun masks before pivot_root, runc after: the masks move, not pivot_root
  auto a = list({{"mount", "/proc (proc)"}, {"mount", "/dev (tmpfs)"}, {"pivot_root", "/"}, {"umount", "/"},
                 {"mask", "/proc/kcore"}, {"mask", "/proc/keys"}, {"hostname", "h"}});
  auto b = list({{"mount", "/proc (proc)"}, {"mount", "/dev (tmpfs)"}, {"mask", "/proc/kcore"}, {"mask", "/proc/keys"},
                 {"pivot_root", "/"}, {"umount", "/"}, {"hostname", "h"}});
  auto c = compare_milestones(a, b);
  EXPECT_EQ(changes(c), (std::vector<std::string>{"moved +mask /proc/kcore @3", "moved +mask /proc/keys @4",
                                                  "moved -mask /proc/kcore @7", "moved -mask /proc/keys @8"}));
}

TEST(Compare, AStepMissingTwiceIsAbsentNotMoved) {
  // one copy moved, the other gone: one moved pair and one absent
  auto a = list({{"hostname", "h"}, {"mount", "/p (proc)"}, {"hostname", "h"}});
  auto b = list({{"mount", "/p (proc)"}, {"hostname", "h"}});
  auto c = compare_milestones(a, b);
  EXPECT_EQ(changes(c), (std::vector<std::string>{"absent -hostname h @1"}));
  auto d = compare_milestones(list({{"hostname", "h"}, {"mount", "/p (proc)"}}), list({{"mount", "/p (proc)"}}));
  EXPECT_EQ(changes(d), (std::vector<std::string>{"absent -hostname h @1"}));
}

TEST(Compare, EqualAfterNormalisation) {
  auto a = list({{"mount", "/r1/<x> (bind)"}, {"cgroup.attach", "cgroup.procs"}, {"mount", "/sys/fs/cgroup/b (bind)"},
                 {"mount", "/sys/fs/cgroup/a (bind)"}});
  auto b = list({{"mount", "/r2/<x> (bind)"}, {"cgroup.attach", "cgroup.procs"}, {"mount", "/sys/fs/cgroup/a (bind)"},
                 {"mount", "/sys/fs/cgroup/b (bind)"}});
  auto c = compare_milestones(a, b, {{"/r1", "<root>"}}, {{"/r2", "<root>"}});
  EXPECT_TRUE(c.changes.empty());
  EXPECT_TRUE(comparison_json(c)["equal"].get<bool>());
}

TEST(Milestones, MaskThroughAnOPathFdOfDevNull) {
  // glassrun and runc bind an O_PATH fd of /dev/null over the masked path
  std::vector<Json> ev{
      syscall_event(10, 1, "openat", {0, 0, 0}, {{"dirfd", "AT_FDCWD"}, {"pathname", "/dev/null"}}, 5),
      syscall_event(10, 2, "openat", {0, 0, 0}, {{"dirfd", "AT_FDCWD"}, {"pathname", "/proc/keys"}}, 7),
      syscall_event(10, 3, "mount", {0, 0, 0, 4096},
                    {{"source", "/proc/self/fd/5"}, {"target", "/proc/self/fd/7"}, {"filesystemtype", nullptr},
                     {"mountflags", "MS_BIND"}, {"data", nullptr}}),
      syscall_event(10, 4, "close", {5}, {{"fd", 5}}),
      syscall_event(10, 5, "openat", {0, 0, 0}, {{"dirfd", "AT_FDCWD"}, {"pathname", "/etc"}}, 5),
      syscall_event(10, 6, "mount", {0, 0, 0, 4096},
                    {{"source", "/proc/self/fd/5"}, {"target", "/x"}, {"filesystemtype", nullptr},
                     {"mountflags", "MS_BIND"}, {"data", nullptr}}),
  };
  EXPECT_EQ(keys(extract_milestones(trace_from_events(ev))),
            (std::vector<std::string>{"mask /proc/keys", "mount /x (bind)"}));
}

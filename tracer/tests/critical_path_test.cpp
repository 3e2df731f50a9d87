#include <gtest/gtest.h>

#include "critical_path.h"
#include "diff.h"
#include "sched_event.h"
#include "sched_record.h"
#include "test_events.h"

using namespace glasstrace;
using glasstrace::testing::syscall_event;

namespace {

Json sched(uint32_t tid, uint64_t ts, const char* state, const char* cause, uint32_t by = 0) {
  return Json{{"v", 1},   {"type", "sched"}, {"ts", ts},       {"cpu", 0},
              {"pid", tid}, {"tid", tid},    {"state", state}, {"cause", cause},
              {"by_pid", by ? Json(by) : Json(nullptr)}, {"by_tid", by ? Json(by) : Json(nullptr)}};
}

Json step(uint32_t tid, uint64_t ts, const char* phase, const char* name) {
  return Json{{"v", 1},     {"type", "step"}, {"ts", ts},     {"pid", tid}, {"tid", tid}, {"ns_pid", tid},
              {"ns_tid", tid}, {"comm", "t"},  {"mntns", 1},   {"pidns", 1}, {"cgroup", 1},
              {"phase", phase}, {"name", name}, {"err", 0}};
}

Json exit_event(uint32_t pid, uint64_t ts) {
  return Json{{"v", 1}, {"type", "exit"}, {"ts", ts}, {"pid", pid}, {"tid", pid}, {"ns_pid", pid}, {"ns_tid", pid},
              {"comm", "t"}, {"mntns", 1}, {"pidns", 1}, {"cgroup", 1}, {"status", 0}, {"exit_code", 0},
              {"signal", nullptr}, {"core_dumped", false}, {"group_dead", true}};
}

void expect_sums_to_wall(const PathTime& p) { EXPECT_EQ(p.on_cpu + p.runnable + p.blocked, p.wall); }

// One task: runs, sleeps (woken by nobody followed: an interrupt), waits
// for a CPU, runs, is preempted, runs.
TEST(CriticalPath, OneTaskSplitsIntoOnCpuRunnableAndBlocked) {
  SchedTimeline tl({sched(1, 100, "blocked", "S"), sched(1, 150, "runnable", "wakeup"), sched(1, 170, "running", "switch"),
                    sched(1, 200, "runnable", "preempted"), sched(1, 230, "running", "switch")});
  PathTime p = critical_path(tl, 1, 50, 250);
  EXPECT_EQ(p.wall, 200u);
  EXPECT_EQ(p.on_cpu, 50u + 30u + 20u);   // 50-100, 170-200, 230-250
  EXPECT_EQ(p.runnable, 20u + 30u);       // 150-170, 200-230
  EXPECT_EQ(p.blocked, 50u);              // 100-150
  EXPECT_EQ(p.tasks, (std::set<uint32_t>{1}));
  expect_sums_to_wall(p);
}

// A parent forks a child and waits for it: the wait is the child's time
// (the walk follows the waker), down to the fork (wakeup_new by the parent).
TEST(CriticalPath, FollowsTheWakerBackToTheFork) {
  SchedTimeline tl({sched(2, 95, "runnable", "new", 1), sched(1, 100, "blocked", "S"), sched(2, 100, "running", "switch"),
                    sched(2, 120, "runnable", "preempted"), sched(2, 140, "running", "switch"),
                    sched(1, 180, "runnable", "wakeup", 2), sched(2, 185, "dead", "dead"),
                    sched(1, 190, "running", "switch")});
  PathTime p = critical_path(tl, 1, 90, 200);
  EXPECT_EQ(p.wall, 110u);
  EXPECT_EQ(p.on_cpu, 10u + 40u + 20u + 5u);  // 1: 190-200; 2: 140-180, 100-120; 1: 90-95
  EXPECT_EQ(p.runnable, 10u + 20u + 5u);      // 1: 180-190; 2: 120-140, 95-100
  EXPECT_EQ(p.blocked, 0u);
  EXPECT_EQ(p.tasks, (std::set<uint32_t>{1, 2}));
  expect_sums_to_wall(p);
  ASSERT_FALSE(p.segments.empty());
  EXPECT_EQ(p.segments.front().tid, 1u);  // latest first
  EXPECT_EQ(p.segments.back().tid, 1u);
}

// A wake-up that reaches a task before it left the CPU changes nothing.
TEST(CriticalPath, WakeupOfARunningTaskIsIgnored) {
  SchedTimeline tl({sched(1, 10, "running", "switch"), sched(1, 20, "runnable", "wakeup", 2),
                    sched(1, 40, "blocked", "D")});
  PathTime p = critical_path(tl, 1, 10, 50);
  EXPECT_EQ(p.on_cpu, 30u);
  EXPECT_EQ(p.blocked, 10u);
  EXPECT_EQ(p.tasks, (std::set<uint32_t>{1}));
}

// Woken by a task outside the tree (a kworker finishing cgroup or RCU work):
// the sleep is the step's own blocked time.
TEST(CriticalPath, AWakerOutsideTheTreeLeavesTheSleepBlocked) {
  SchedTimeline tl({sched(1, 10, "blocked", "D"), sched(1, 30, "runnable", "wakeup", 99),
                    sched(1, 35, "running", "switch")});
  PathTime p = critical_path(tl, 1, 0, 40);
  EXPECT_EQ(p.on_cpu, 10u + 5u);
  EXPECT_EQ(p.blocked, 20u);
  EXPECT_EQ(p.runnable, 5u);
  EXPECT_EQ(p.tasks, (std::set<uint32_t>{1}));
}

TEST(CriticalPath, WithoutSchedRecordsEverythingIsOnCpu) {
  SchedTimeline tl(std::vector<Json>{});
  PathTime p = critical_path(tl, 7, 100, 160);
  EXPECT_EQ(p.wall, 60u);
  EXPECT_EQ(p.on_cpu, 60u);
  EXPECT_TRUE(critical_path(tl, 7, 160, 100).tasks.empty());  // empty interval
}

TEST(CriticalPath, SchedRecordsBecomeStateChanges) {
  gt_sched r{};
  r.ts = 5, r.kind = GT_SCHED_SWITCH, r.prev_pid = 10, r.prev_tid = 11, r.next_pid = 20, r.next_tid = 20;
  r.prev_state = 0x2;
  auto e = sched_events(r);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0]["tid"], 11);
  EXPECT_EQ(e[0]["pid"], 10);
  EXPECT_EQ(e[0]["state"], "blocked");
  EXPECT_EQ(e[0]["cause"], "D");
  EXPECT_EQ(e[1]["tid"], 20);
  EXPECT_EQ(e[1]["state"], "running");
  r.preempt = 1;
  EXPECT_EQ(sched_events(r)[0]["state"], "runnable");
  r.preempt = 0, r.prev_state = 0x80;
  EXPECT_EQ(sched_events(r)[0]["state"], "dead");
  r.next_tid = r.next_pid = 0;  // an unfollowed task takes the CPU
  EXPECT_EQ(sched_events(r).size(), 1u);

  gt_sched w{};
  w.ts = 6, w.kind = GT_SCHED_WAKING, w.next_pid = 10, w.next_tid = 11;  // woken by an unfollowed task
  auto we = sched_events(w);
  ASSERT_EQ(we.size(), 1u);
  EXPECT_EQ(we[0]["state"], "runnable");
  EXPECT_EQ(we[0]["cause"], "wakeup");
  EXPECT_TRUE(we[0]["by_tid"].is_null());
  w.kind = GT_SCHED_WAKEUP_NEW, w.prev_pid = 10, w.prev_tid = 10;
  EXPECT_EQ(sched_events(w)[0]["by_tid"], 10);
  EXPECT_EQ(sched_events(w)[0]["cause"], "new");
}

TEST(CriticalPath, UsdtStepsPairPerThreadAndSumToWall) {
  Trace t = trace_from_events({step(1, 100, "begin", "create"), step(1, 110, "begin", "create.config"),
                               sched(1, 115, "blocked", "S"), sched(1, 125, "runnable", "wakeup"),
                               sched(1, 130, "running", "switch"), step(1, 140, "end", "create.config"),
                               step(1, 150, "begin", "create.never_ended"), step(1, 200, "end", "create")});
  SchedTimeline tl(t.sched);
  auto steps = usdt_step_times(t, tl);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].name, "create");
  EXPECT_EQ(steps[0].path.wall, 100u);
  EXPECT_EQ(steps[1].name, "create.config");
  EXPECT_EQ(steps[1].path.on_cpu, 5u + 10u);
  EXPECT_EQ(steps[1].path.blocked, 10u);
  EXPECT_EQ(steps[1].path.runnable, 5u);
  for (const auto& s : steps) expect_sums_to_wall(s.path);
}

// Phases between milestones: "start" (from the command's exec), one per
// milestone kind (repeated kinds summed), the last one until the traced
// command's exit.
TEST(CriticalPath, PhasesSpanTheTraceFromFirstEventToTheCommandsExit) {
  Json exec = exit_event(1, 100);  // the command's exec: what counts as its start
  exec["type"] = "exec";
  std::vector<Json> ev = {
      syscall_event(1, 50, "read", {0}, {{"fd", 3}}, 1),  // waiting for the tracer: before the start
      exec,
      syscall_event(1, 100, "openat", {0}, {{"dirfd", "AT_FDCWD"}, {"pathname", "/x"}, {"flags", "O_RDONLY"}}, 3),
      syscall_event(2, 150, "sethostname", {0, 3}, {{"name", "box"}, {"len", 3}}),
      syscall_event(2, 170, "mount", {0, 0, 0, 0}, {{"source", "tmpfs"}, {"target", "/a"}, {"filesystemtype", "tmpfs"}, {"mountflags", "0"}, {"data", nullptr}}),
      syscall_event(2, 180, "sethostname", {0, 3}, {{"name", "box2"}, {"len", 4}}),
      syscall_event(2, 200, "execve", {0, 0, 0}, {{"pathname", "/bin/true"}, {"argv", {"true"}}}, 0, 1),
      exit_event(1, 300)};
  Trace t = trace_from_events(ev);
  t.meta = Json{{"type", "meta"}, {"root_pid", 1}};
  SchedTimeline tl(t.sched);
  auto phases = phase_times(t, tl);
  std::vector<std::string> names;
  uint64_t total = 0;
  for (const auto& p : phases) names.push_back(p.name), total += p.path.wall;
  EXPECT_EQ(names, (std::vector<std::string>{"start", "hostname", "mount", "exec"}));
  EXPECT_EQ(phases[1].count, 2u);
  EXPECT_EQ(phases[1].path.wall, 20u + 20u);  // 150-170, 180-200
  EXPECT_EQ(phases[3].tid, 1u);                // ends at the command's exit
  EXPECT_EQ(total, 200u);                      // 100 .. 300
}

TEST(CriticalPath, HotSpotsRankTheLargestDifferenceFirst) {
  auto trace = [](uint64_t mount_len) {
    std::vector<Json> ev = {
        syscall_event(1, 100, "sethostname", {0, 3}, {{"name", "box"}, {"len", 3}}),
        syscall_event(1, 110, "mount", {0, 0, 0, 0}, {{"source", "tmpfs"}, {"target", "/a"}, {"filesystemtype", "tmpfs"}, {"mountflags", "0"}, {"data", nullptr}}),
        syscall_event(1, 110 + mount_len, "execve", {0, 0, 0}, {{"pathname", "/bin/true"}, {"argv", {"true"}}}, 0, 1),
        exit_event(1, 120 + mount_len)};
    Trace t = trace_from_events(ev);
    t.meta = Json{{"type", "meta"}, {"root_pid", 1}};
    return t;
  };
  auto h = hot_spots(trace(10), trace(500), 2);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].name, "mount");
  EXPECT_EQ(h[0].a.wall, 10u);
  EXPECT_EQ(h[0].b.wall, 500u);
  EXPECT_NE(hot_spots_text(h, "a", "b").find("hot phase mount"), std::string::npos);
}

}  // namespace

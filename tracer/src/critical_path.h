// The start-up critical path: for each step of a container start (glassrun's
// USDT steps; for any runtime, the phases between its kernel-facing
// milestones), its wall time split into on-CPU, runnable (waiting for a CPU)
// and blocked time along the chain of tasks the step waited on, from the
// trace's `sched` records. Definition: docs/TRACER.md "Critical path".
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "trace_file.h"

namespace glasstrace {

enum class RunState { Running, Runnable, Blocked, Dead };

// Every followed task's scheduling states over time, from `sched` records.
class SchedTimeline {
 public:
  explicit SchedTimeline(const std::vector<Json>& sched);
  bool empty() const { return tasks_.empty(); }

  struct Change {
    uint64_t ts;
    RunState state;
    uint32_t by_tid;  // runnable after a wake-up by this task, else 0
  };
  // The state `tid` was in just before `t`: the last change before t, or,
  // before the first change, the state that change left (ts 0). A task
  // without records is taken as running.
  Change state_before(uint32_t tid, uint64_t t) const;
  const std::map<uint32_t, std::vector<Change>>& tasks() const { return tasks_; }

 private:
  std::map<uint32_t, std::vector<Change>> tasks_;  // by tid, by time
};

struct PathSegment {
  uint32_t tid;
  uint64_t begin, end;
  RunState state;  // Running, Runnable or Blocked
};

struct PathTime {
  uint64_t wall = 0, on_cpu = 0, runnable = 0, blocked = 0;
  std::set<uint32_t> tasks;          // tids on the path
  std::vector<PathSegment> segments;  // latest first
  uint64_t off_cpu() const { return runnable + blocked; }
};

// Walks back from (tid, end) to begin: a running or runnable task's time is
// its own; when the task was woken by a task of the tree (one with sched
// records), the time before the wake-up is the waker's (the walk continues
// on the waker); time blocked without such a waker (I/O, timers, kernel
// threads) is blocked time.
PathTime critical_path(const SchedTimeline& timeline, uint32_t tid, uint64_t begin, uint64_t end);

struct StepTime {
  std::string kind;  // "step" (USDT) or "phase" (between milestones)
  std::string name;
  uint32_t tid = 0;  // where the step ends: the walk starts there
  uint64_t begin = 0, end = 0;
  uint32_t count = 1;  // phases of the same name are summed
  PathTime path;
};

// USDT steps (begin/end pairs per thread), in order of beginning.
std::vector<StepTime> usdt_step_times(const Trace& t, const SchedTimeline& timeline);
// Milestone phases, summed per name in order of first appearance: "start"
// (the traced command's first exec, else the first event, to the first
// milestone), one per milestone kind (from its first
// milestone to the next kind's), the last one lasting until the traced
// command's exit.
std::vector<StepTime> phase_times(const Trace& t, const SchedTimeline& timeline);

// Both, for `glasstrace critical-path` and `show --format summary`.
std::string critical_path_text(const Trace& t);
Json critical_path_json(const Trace& t);

}  // namespace glasstrace

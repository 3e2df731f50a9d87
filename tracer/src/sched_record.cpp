#include "sched_record.h"

#include <fmt/format.h>

#include "sched_event.h"

namespace glasstrace {
namespace {

// task->__state bits (include/linux/sched.h).
constexpr uint32_t kInterruptible = 0x1, kUninterruptible = 0x2, kStopped = 0x4, kTraced = 0x8,
                   kDead = 0x80, kNoload = 0x400;

// Why a task left the CPU without being preempted, as ps letters.
std::string sleep_cause(uint32_t state) {
  if (state & kDead) return "dead";
  if ((state & kUninterruptible) && (state & kNoload)) return "I";
  if (state & kUninterruptible) return "D";
  if (state & kInterruptible) return "S";
  if (state & (kStopped | kTraced)) return "T";
  return fmt::format("{:#x}", state);
}

Json base(const gt_sched& r, uint32_t pid, uint32_t tid, const char* state, const std::string& cause) {
  return Json{{"v", 1},     {"type", "sched"}, {"ts", r.ts},       {"cpu", r.cpu},
              {"pid", pid}, {"tid", tid},      {"state", state},   {"cause", cause},
              {"by_pid", nullptr}, {"by_tid", nullptr}};
}

}  // namespace

std::vector<Json> sched_events(const gt_sched& r) {
  std::vector<Json> out;
  switch (r.kind) {
    case GT_SCHED_SWITCH:
      if (r.prev_tid) {
        if (r.preempt || r.prev_state == 0) {
          out.push_back(base(r, r.prev_pid, r.prev_tid, "runnable", "preempted"));
        } else {
          std::string cause = sleep_cause(r.prev_state);
          out.push_back(base(r, r.prev_pid, r.prev_tid, cause == "dead" ? "dead" : "blocked", cause));
        }
      }
      if (r.next_tid) out.push_back(base(r, r.next_pid, r.next_tid, "running", "switch"));
      break;
    case GT_SCHED_WAKING:
    case GT_SCHED_WAKEUP_NEW:
      if (r.next_tid) {
        Json e = base(r, r.next_pid, r.next_tid, "runnable", r.kind == GT_SCHED_WAKING ? "wakeup" : "new");
        if (r.prev_tid) e["by_pid"] = r.prev_pid, e["by_tid"] = r.prev_tid;
        out.push_back(std::move(e));
      }
      break;
  }
  return out;
}

}  // namespace glasstrace

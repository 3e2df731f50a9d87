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

// One event to `sink`; the waker when `by` (a wake-up's current task).
void emit(const EventSink& sink, JsonLine& line, const gt_sched& r, uint32_t pid, uint32_t tid, const char* state,
          std::string_view cause, bool by = false) {
  line.clear();
  line.begin_object().member("v", 1).member("type", "sched").member("ts", r.ts).member("cpu", r.cpu);
  line.member("pid", pid).member("tid", tid).member("state", state).member("cause", cause);
  if (by) line.member("by_pid", r.prev_pid).member("by_tid", r.prev_tid);
  else line.member("by_pid", nullptr).member("by_tid", nullptr);
  sink(line.end_object().text());
}

}  // namespace

int write_sched_events(const gt_sched& r, const EventSink& sink) {
  thread_local JsonLine line;
  int n = 0;
  switch (r.kind) {
    case GT_SCHED_SWITCH:
      if (r.prev_tid) {
        if (r.preempt || r.prev_state == 0) {
          emit(sink, line, r, r.prev_pid, r.prev_tid, "runnable", "preempted");
        } else {
          std::string cause = sleep_cause(r.prev_state);
          emit(sink, line, r, r.prev_pid, r.prev_tid, cause == "dead" ? "dead" : "blocked", cause);
        }
        n++;
      }
      if (r.next_tid) emit(sink, line, r, r.next_pid, r.next_tid, "running", "switch"), n++;
      break;
    case GT_SCHED_WAKING:
    case GT_SCHED_WAKEUP_NEW:
      if (r.next_tid) {
        emit(sink, line, r, r.next_pid, r.next_tid, "runnable", r.kind == GT_SCHED_WAKING ? "wakeup" : "new",
             r.prev_tid != 0);
        n++;
      }
      break;
  }
  return n;
}

std::vector<Json> sched_events(const gt_sched& r) {
  std::vector<Json> out;
  write_sched_events(r, [&](std::string_view line) { out.push_back(Json::parse(line)); });
  return out;
}

}  // namespace glasstrace

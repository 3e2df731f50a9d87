#include "critical_path.h"

#include <fmt/format.h>

#include <algorithm>

#include "milestones.h"

namespace glasstrace {
namespace {

RunState state_of(const std::string& s) {
  if (s == "running") return RunState::Running;
  if (s == "runnable") return RunState::Runnable;
  if (s == "dead") return RunState::Dead;
  return RunState::Blocked;
}

// What a task was doing before its first recorded change.
RunState state_before_first(RunState first) {
  switch (first) {
    case RunState::Running: return RunState::Runnable;  // it was waiting for the CPU it got
    case RunState::Runnable: return RunState::Blocked;   // first seen being woken (or created)
    default: return RunState::Running;                   // first seen leaving the CPU
  }
}

void add_segment(PathTime& p, uint32_t tid, uint64_t begin, uint64_t end, RunState s) {
  if (end <= begin) return;
  uint64_t d = end - begin;
  if (s == RunState::Running) p.on_cpu += d;
  else if (s == RunState::Runnable) p.runnable += d;
  else p.blocked += d, s = RunState::Blocked;
  p.tasks.insert(tid);
  if (!p.segments.empty() && p.segments.back().tid == tid && p.segments.back().state == s &&
      p.segments.back().begin == end) {
    p.segments.back().begin = begin;
    return;
  }
  p.segments.push_back({tid, begin, end, s});
}

void add_path(PathTime& into, const PathTime& p) {
  into.wall += p.wall;
  into.on_cpu += p.on_cpu;
  into.runnable += p.runnable;
  into.blocked += p.blocked;
  into.tasks.insert(p.tasks.begin(), p.tasks.end());
  into.segments.insert(into.segments.end(), p.segments.begin(), p.segments.end());
}

// The traced command's start: its first exec (before it, the child forked by
// glasstrace waits for the tracer to attach), else the first event.
uint64_t command_start(const Trace& t) {
  uint32_t root = t.meta.is_object() ? t.meta.value("root_pid", 0u) : 0u;
  uint64_t first = UINT64_MAX, exec = UINT64_MAX;
  for (const auto& e : t.events) {
    uint64_t ts = e["ts"];
    first = std::min(first, ts);
    if (e["type"] == "exec" && e["pid"] == root) exec = std::min(exec, ts);
  }
  if (exec != UINT64_MAX) return exec;
  return first == UINT64_MAX ? 0 : first;
}

// The traced command's end: its main thread's exit (what its caller waits
// for), else the last event.
std::pair<uint32_t, uint64_t> command_end(const Trace& t) {
  uint32_t root = t.meta.is_object() ? t.meta.value("root_pid", 0u) : 0u;
  uint64_t last = 0;
  for (const auto& e : t.events) last = std::max(last, e["ts"].get<uint64_t>());
  for (const auto& e : t.events)
    if (e["type"] == "exit" && e["pid"] == root && e.value("group_dead", false)) return {root, e["ts"].get<uint64_t>()};
  return {root, last};
}

std::string ms(uint64_t ns) { return fmt::format("{:.3f}", ns / 1e6); }

}  // namespace

SchedTimeline::SchedTimeline(const std::vector<Json>& sched) {
  std::vector<const Json*> order;
  for (const auto& e : sched) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(), [](const Json* a, const Json* b) {
    return (*a)["ts"].get<uint64_t>() < (*b)["ts"].get<uint64_t>();
  });
  for (const Json* e : order) {
    auto& changes = tasks_[(*e)["tid"].get<uint32_t>()];
    Change c{(*e)["ts"].get<uint64_t>(), state_of((*e)["state"].get<std::string>()), 0};
    if (c.state == RunState::Runnable && (*e)["by_tid"].is_number()) c.by_tid = (*e)["by_tid"].get<uint32_t>();
    // A wake-up of a task that has not left the CPU (or is already
    // runnable) changes nothing: it never waited.
    bool wakeup = (*e)["cause"] == "wakeup";
    if (wakeup && !changes.empty() && changes.back().state != RunState::Blocked) continue;
    changes.push_back(c);
  }
}

SchedTimeline::Change SchedTimeline::state_before(uint32_t tid, uint64_t t) const {
  auto it = tasks_.find(tid);
  if (it == tasks_.end() || it->second.empty()) return {0, RunState::Running, 0};
  const auto& v = it->second;
  auto after = std::lower_bound(v.begin(), v.end(), t, [](const Change& c, uint64_t x) { return c.ts < x; });
  if (after == v.begin()) return {0, state_before_first(v.front().state), 0};
  return *std::prev(after);
}

PathTime critical_path(const SchedTimeline& timeline, uint32_t tid, uint64_t begin, uint64_t end) {
  PathTime p;
  if (end <= begin) return p;
  p.wall = end - begin;
  uint32_t cur = tid;
  uint64_t t = end;
  // Each turn moves t back to an earlier change; the bound only guards
  // against a malformed trace.
  for (int turns = 0; t > begin && turns < 1000000; turns++) {
    SchedTimeline::Change c = timeline.state_before(cur, t);
    uint64_t from = std::max(c.ts, begin);
    add_segment(p, cur, from, t, c.state);
    t = from;
    // A waker with no records of its own is not in the tree (a kernel
    // thread, an interrupt): the time before the wake-up stays blocked.
    if (c.state == RunState::Runnable && c.by_tid && c.by_tid != cur && timeline.tasks().count(c.by_tid))
      cur = c.by_tid;
  }
  add_segment(p, cur, begin, t, RunState::Blocked);
  return p;
}

std::vector<StepTime> usdt_step_times(const Trace& t, const SchedTimeline& timeline) {
  std::vector<StepTime> out;
  std::map<uint32_t, std::vector<std::size_t>> open;  // per tid: indices into out
  std::vector<const Json*> steps;
  for (const auto& e : t.events)
    if (e["type"] == "step") steps.push_back(&e);
  std::stable_sort(steps.begin(), steps.end(), [](const Json* a, const Json* b) {
    return (*a)["ts"].get<uint64_t>() < (*b)["ts"].get<uint64_t>();
  });
  for (const Json* e : steps) {
    uint32_t tid = (*e)["tid"];
    std::string name = (*e)["name"];
    auto& stack = open[tid];
    if ((*e)["phase"] == "begin") {
      stack.push_back(out.size());
      out.push_back({"step", name, tid, (*e)["ts"].get<uint64_t>(), 0, 1, {}});
      continue;
    }
    // The innermost open step of that name on the thread.
    for (auto it = stack.rbegin(); it != stack.rend(); ++it)
      if (out[*it].name == name) {
        out[*it].end = (*e)["ts"];
        stack.erase(std::next(it).base());
        break;
      }
  }
  std::erase_if(out, [](const StepTime& s) { return s.end == 0; });  // never ended (failed run, cut trace)
  for (auto& s : out) s.path = critical_path(timeline, s.tid, s.begin, s.end);
  return out;
}

std::vector<StepTime> phase_times(const Trace& t, const SchedTimeline& timeline) {
  MilestoneList m = extract_milestones(t);
  std::vector<StepTime> raw;  // one per run of same-kind milestones
  uint64_t start = command_start(t);
  if (m.items.empty()) return {};
  raw.push_back({"phase", "start", m.items.front().tid, start, m.items.front().ts, 1, {}});
  for (const auto& item : m.items) {
    if (raw.back().name == item.kind) continue;
    raw.back().end = item.ts;
    raw.back().tid = item.tid;
    raw.push_back({"phase", item.kind, item.tid, item.ts, 0, 1, {}});
  }
  auto [root, end] = command_end(t);
  raw.back().end = std::max(end, raw.back().begin);
  raw.back().tid = root ? root : raw.back().tid;
  // Two milestones of one syscall (clone3 into a cgroup with new namespaces):
  // the first phase has no time of its own.
  for (std::size_t i = 0; i + 1 < raw.size();) {
    if (raw[i].begin == raw[i].end)
      raw.erase(raw.begin() + static_cast<std::ptrdiff_t>(i));
    else
      ++i;
  }

  std::vector<StepTime> out;
  for (auto& r : raw) {
    r.path = critical_path(timeline, r.tid, r.begin, r.end);
    auto same = std::find_if(out.begin(), out.end(), [&](const StepTime& s) { return s.name == r.name; });
    if (same == out.end()) {
      out.push_back(std::move(r));
      continue;
    }
    same->count++;
    same->end = r.end;
    add_path(same->path, r.path);
  }
  return out;
}

namespace {

std::vector<StepTime> all_steps(const Trace& t) {
  SchedTimeline timeline(t.sched);
  std::vector<StepTime> all = usdt_step_times(t, timeline);
  for (auto& p : phase_times(t, timeline)) all.push_back(std::move(p));
  return all;
}

}  // namespace

std::string critical_path_text(const Trace& t) {
  std::string out;
  if (t.sched.empty())
    out += "no sched records (recorded with --no-sched?): on-CPU, runnable and blocked are not known\n";
  out += fmt::format("{:<40} {:>5} {:>10} {:>10} {:>10} {:>10} {:>5}\n", "critical path (ms)", "count", "wall",
                     "on-cpu", "runnable", "blocked", "tasks");
  for (const auto& s : all_steps(t)) {
    const PathTime& p = s.path;
    bool known = !t.sched.empty();
    out += fmt::format("{:<40} {:>5} {:>10} {:>10} {:>10} {:>10} {:>5}\n", s.kind + " " + s.name, s.count, ms(p.wall),
                       known ? ms(p.on_cpu) : "-", known ? ms(p.runnable) : "-", known ? ms(p.blocked) : "-",
                       p.tasks.size());
  }
  return out;
}

Json critical_path_json(const Trace& t) {
  Json steps = Json::array();
  for (const auto& s : all_steps(t)) {
    const PathTime& p = s.path;
    steps.push_back({{"kind", s.kind},        {"name", s.name},          {"count", s.count},
                     {"tid", s.tid},          {"begin_ns", s.begin},     {"end_ns", s.end},
                     {"wall_ns", p.wall},     {"on_cpu_ns", p.on_cpu},   {"off_cpu_ns", p.off_cpu()},
                     {"runnable_ns", p.runnable}, {"blocked_ns", p.blocked},
                     {"tasks", Json(std::vector<uint32_t>(p.tasks.begin(), p.tasks.end()))}});
  }
  return {{"v", 1}, {"sched", !t.sched.empty()}, {"steps", steps}};
}

}  // namespace glasstrace

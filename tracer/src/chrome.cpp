// Chrome / Perfetto trace-event JSON: one track per thread (grouped by
// process), steps as B/E slices, syscalls as X complete events; per thread a
// second track of its scheduling states (running / runnable / blocked), and
// per process tree the critical path of each step and phase.
#include <fmt/format.h>

#include <functional>
#include <map>

#include "critical_path.h"
#include "renderers.h"

namespace glasstrace {
namespace {

// Track ids beside the real tids (pid_max is at most 2^22).
constexpr uint32_t kSchedTrack = 1u << 30, kStepPathTrack = 1u << 29, kPhasePathTrack = 3u << 28;

const char* state_name(RunState s) {
  switch (s) {
    case RunState::Running: return "running";
    case RunState::Runnable: return "runnable";
    case RunState::Blocked: return "blocked";
    default: return "dead";
  }
}

// One slice per scheduling state of each task, on its own track.
void add_sched_tracks(const Trace& t, const std::map<uint32_t, std::string>& thread_names, uint64_t end,
                      const std::function<double(uint64_t)>& us, Json& events) {
  SchedTimeline timeline(t.sched);
  std::map<uint32_t, uint32_t> pid_of;
  for (const auto& e : t.sched) pid_of[e["tid"].get<uint32_t>()] = e["pid"].get<uint32_t>();
  for (const auto& [tid, changes] : timeline.tasks()) {
    uint32_t pid = pid_of[tid];
    for (std::size_t i = 0; i < changes.size(); i++) {
      if (changes[i].state == RunState::Dead) break;
      uint64_t until = i + 1 < changes.size() ? changes[i + 1].ts : std::max(end, changes[i].ts);
      Json ev = {{"name", state_name(changes[i].state)}, {"cat", "sched"}, {"ph", "X"}, {"pid", pid},
                 {"tid", kSchedTrack | tid}, {"ts", us(changes[i].ts)}, {"dur", (until - changes[i].ts) / 1000.0}};
      if (changes[i].by_tid) ev["args"] = {{"woken_by", changes[i].by_tid}};
      events.push_back(std::move(ev));
    }
    auto name = thread_names.find(tid);
    events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", pid}, {"tid", kSchedTrack | tid},
                      {"args", {{"name", fmt::format("{} {} (cpu state)", name != thread_names.end() ? name->second : "",
                                                     tid)}}}});
  }
}

// Each step's and phase's critical path as one slice (on-CPU / runnable /
// blocked in its args), on two tracks of the traced command's process.
void add_critical_path_tracks(const Trace& t, const std::function<double(uint64_t)>& us, Json& events) {
  uint32_t root = t.meta.is_object() ? t.meta.value("root_pid", 0u) : 0u;
  SchedTimeline timeline(t.sched);
  auto add = [&](const std::vector<StepTime>& steps, uint32_t track, const char* label) {
    if (steps.empty()) return;
    for (const auto& s : steps)
      events.push_back({{"name", s.name}, {"cat", "critical_path"}, {"ph", "X"}, {"pid", root}, {"tid", track | root},
                        {"ts", us(s.begin)}, {"dur", (s.end - s.begin) / 1000.0},
                        {"args", {{"wall_ms", s.path.wall / 1e6}, {"on_cpu_ms", s.path.on_cpu / 1e6},
                                  {"runnable_ms", s.path.runnable / 1e6}, {"blocked_ms", s.path.blocked / 1e6},
                                  {"count", s.count}, {"tasks", s.path.tasks}}}});
    events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", root}, {"tid", track | root},
                      {"args", {{"name", label}}}});
  };
  add(usdt_step_times(t, timeline), kStepPathTrack, "critical path: steps");
  add(phase_times(t, timeline), kPhasePathTrack, "critical path: phases");
}

}  // namespace

void render_chrome(const Trace& t, std::ostream& out) {
  uint64_t t0 = UINT64_MAX;
  uint64_t t_end = 0;
  for (const auto* list : {&t.events, &t.sched})
    for (const auto& e : *list) t0 = std::min(t0, e["ts"].get<uint64_t>()), t_end = std::max(t_end, e["ts"].get<uint64_t>());
  auto us = [&](uint64_t ts) { return static_cast<double>(ts - t0) / 1000.0; };

  Json events = Json::array();
  std::map<uint32_t, std::string> process_names, thread_names;
  std::map<uint32_t, uint32_t> thread_pid;
  for (const auto& e : t.events) {
    uint32_t pid = e["pid"], tid = e["tid"];
    process_names.try_emplace(pid, e["comm"].get<std::string>());
    thread_names[tid] = e["comm"].get<std::string>();  // last name wins (exec renames)
    thread_pid[tid] = pid;
    Json ev = {{"pid", pid}, {"tid", tid}, {"ts", us(e["ts"])}};
    std::string type = e["type"];
    if (type == "syscall") {
      ev["name"] = e["name"];
      ev["cat"] = "syscall";
      ev["ph"] = "X";
      ev["dur"] = e["dur_ns"].is_null() ? 0.0 : e["dur_ns"].get<uint64_t>() / 1000.0;
      ev["args"] = {{"decoded", e["decoded"]}, {"ret", e["ret"]}, {"errno", e["errno"]}};
    } else if (type == "step") {
      ev["name"] = e["name"];
      ev["cat"] = "step";
      ev["ph"] = e["phase"] == "begin" ? "B" : "E";
      if (e["phase"] == "end") ev["args"] = {{"err", e["err"]}};
    } else {  // fork, exec, exit: instants on the thread
      ev["name"] = type;
      ev["cat"] = "process";
      ev["ph"] = "i";
      ev["s"] = "t";
      Json args = e;
      for (const char* k : {"v", "type", "ts", "pid", "tid"}) args.erase(k);
      ev["args"] = args;
    }
    events.push_back(std::move(ev));
  }
  add_sched_tracks(t, thread_names, t_end, us, events);
  add_critical_path_tracks(t, us, events);
  for (const auto& [pid, name] : process_names)
    events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", pid}, {"tid", pid}, {"args", {{"name", name}}}});
  for (const auto& [tid, name] : thread_names)
    events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", thread_pid[tid]}, {"tid", tid}, {"args", {{"name", name}}}});
  Json doc = {{"traceEvents", events}, {"displayTimeUnit", "ns"}};
  if (t.meta.is_object()) doc["metadata"] = t.meta;
  out << doc.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
}

}  // namespace glasstrace

// Chrome / Perfetto trace-event JSON: one track per thread (grouped by
// process), steps as B/E slices, syscalls as X complete events.
#include <map>

#include "renderers.h"

namespace glasstrace {

void render_chrome(const Trace& t, std::ostream& out) {
  uint64_t t0 = UINT64_MAX;
  for (const auto& e : t.events) t0 = std::min(t0, e["ts"].get<uint64_t>());
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
  for (const auto& [pid, name] : process_names)
    events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", pid}, {"tid", pid}, {"args", {{"name", name}}}});
  for (const auto& [tid, name] : thread_names)
    events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", thread_pid[tid]}, {"tid", tid}, {"args", {{"name", name}}}});
  Json doc = {{"traceEvents", events}, {"displayTimeUnit", "ns"}};
  if (t.meta.is_object()) doc["metadata"] = t.meta;
  out << doc.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
}

}  // namespace glasstrace

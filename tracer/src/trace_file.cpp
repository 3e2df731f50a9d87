#include "trace_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace glasstrace {

Trace trace_from_events(std::vector<Json> events) {
  Trace t;
  for (auto& e : events) {
    std::string type = e.value("type", "");
    if (type == "meta") t.meta = std::move(e);
    else if (type == "summary") t.summary = std::move(e);
    else if (type == "sched") t.sched.push_back(std::move(e));
    else t.events.push_back(std::move(e));
  }
  return t;
}

Trace read_trace(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
  std::vector<Json> events;
  std::string line;
  int lineno = 0;
  int cut_short = 0;
  while (std::getline(in, line)) {
    lineno++;
    if (line.empty()) continue;
    Json record;
    try {
      record = Json::parse(line);
    } catch (const Json::parse_error& e) {
      // getline hit the end without a newline: the writer stopped mid-line.
      if (in.eof()) {
        cut_short = lineno;
        break;
      }
      throw std::runtime_error(path + ":" + std::to_string(lineno) + ": not JSON");
    }
    // Every reader keys on "type": a JSON line without one is not ours.
    if (!record.is_object() || !record.contains("type") || !record["type"].is_string())
      throw std::runtime_error(path + ":" + std::to_string(lineno) +
                               ": not a glasstrace record (a JSON object with a string \"type\")");
    events.push_back(std::move(record));
  }
  // A failed read ends getline as the end of the file would.
  if (in.bad()) throw std::runtime_error("cannot read " + path + ": a read failed");
  if (events.empty()) throw std::runtime_error(path + ": no complete record: not a trace");
  Trace t = trace_from_events(std::move(events));
  t.cut_short_line = cut_short;
  return t;
}

uint64_t wall_ns(const Trace& t, uint64_t ts) {
  if (t.meta.is_object() && t.meta.contains("monotonic_ns") && t.meta.contains("realtime_ns"))
    return t.meta["realtime_ns"].get<uint64_t>() + ts - t.meta["monotonic_ns"].get<uint64_t>();
  return ts;
}

}  // namespace glasstrace

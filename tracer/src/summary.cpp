// Per step and per syscall name: count, errors, total time.
#include <fmt/format.h>

#include <map>
#include <vector>

#include "critical_path.h"
#include "renderers.h"

namespace glasstrace {
namespace {

struct Tally {
  uint64_t count = 0, errors = 0, total_ns = 0;
};

void print_table(std::ostream& out, const char* title, const std::map<std::string, Tally>& rows) {
  out << fmt::format("{:<32} {:>8} {:>8} {:>14}\n", title, "count", "errors", "total_us");
  for (const auto& [name, t] : rows)
    out << fmt::format("{:<32} {:>8} {:>8} {:>14.3f}\n", name, t.count, t.errors, t.total_ns / 1000.0);
}

}  // namespace

void render_summary(const Trace& t, std::ostream& out) {
  std::map<std::string, Tally> steps, syscalls;
  std::map<uint32_t, std::vector<std::pair<std::string, uint64_t>>> open_steps;  // per tid
  for (const auto& e : t.events) {
    std::string type = e["type"];
    if (type == "syscall") {
      Tally& s = syscalls[e["name"].get<std::string>()];
      s.count++;
      if (e["errno"].is_string()) s.errors++;
      if (!e["dur_ns"].is_null()) s.total_ns += e["dur_ns"].get<uint64_t>();
    } else if (type == "step") {
      auto& stack = open_steps[e["tid"].get<uint32_t>()];
      std::string name = e["name"];
      if (e["phase"] == "begin") {
        stack.emplace_back(name, e["ts"].get<uint64_t>());
        continue;
      }
      Tally& s = steps[name];
      s.count++;
      if (e["err"].get<int>() != 0) s.errors++;
      // Match the innermost open step of that name on the thread.
      for (auto it = stack.rbegin(); it != stack.rend(); ++it)
        if (it->first == name) {
          s.total_ns += e["ts"].get<uint64_t>() - it->second;
          stack.erase(std::next(it).base());
          break;
        }
    }
  }
  if (!steps.empty()) {
    print_table(out, "step", steps);
    out << '\n';
  }
  print_table(out, "syscall", syscalls);
  out << '\n' << critical_path_text(t);
  if (t.summary.is_object())
    out << fmt::format("\nevents {}  dropped {}\n", t.summary.value("events", 0), t.summary.value("dropped", 0));
}

}  // namespace glasstrace

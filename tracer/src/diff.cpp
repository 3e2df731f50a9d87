#include "diff.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>

namespace glasstrace {

std::vector<DiffLine> diff_milestones(const MilestoneList& a, const MilestoneList& b) {
  const auto& x = a.items;
  const auto& y = b.items;
  std::size_t n = x.size(), m = y.size();
  // lcs[i][j]: LCS length of x[i..] and y[j..].
  std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;)
    for (std::size_t j = m; j-- > 0;)
      lcs[i][j] = x[i].key() == y[j].key() ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  std::vector<DiffLine> out;
  std::size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i].key() == y[j].key()) {
      out.push_back({DiffLine::Same, &x[i++], &y[j++]});
    } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      out.push_back({DiffLine::OnlyB, nullptr, &y[j++]});
    } else {
      out.push_back({DiffLine::OnlyA, &x[i++], nullptr});
    }
  }
  return out;
}

bool has_differences(const std::vector<DiffLine>& d) {
  return std::any_of(d.begin(), d.end(), [](const DiffLine& l) { return l.op != DiffLine::Same; });
}

std::string diff_text(const std::vector<DiffLine>& d, const std::string& name_a, const std::string& name_b) {
  constexpr int kWidth = 56;
  auto cell = [](const Milestone* m) {
    if (!m) return std::string();
    std::string s = fmt::format("{:<13} {}", m->kind, m->detail);
    return s.size() > kWidth ? s.substr(0, kWidth - 3) + "..." : s;
  };
  std::string out = fmt::format("  {:<{}} | {}\n", name_a, kWidth, name_b);
  for (const auto& l : d) {
    char mark = l.op == DiffLine::Same ? ' ' : l.op == DiffLine::OnlyA ? '-' : '+';
    out += fmt::format("{} {:<{}} | {}\n", mark, cell(l.a), kWidth, cell(l.b));
  }
  return out;
}

// --- hot spots ---------------------------------------------------------------

namespace {

int64_t delta(uint64_t a, uint64_t b) { return static_cast<int64_t>(b) - static_cast<int64_t>(a); }

uint64_t weight(const HotSpot& h) {
  return std::max(std::llabs(delta(h.a.wall, h.b.wall)), std::llabs(delta(h.a.on_cpu, h.b.on_cpu)));
}

// Per "kind name": the summed path of that trace's steps.
std::map<std::string, std::pair<std::string, PathTime>> by_name(const std::vector<StepTime>& steps) {
  std::map<std::string, std::pair<std::string, PathTime>> out;
  for (const auto& s : steps) {
    auto& [name, p] = out[s.kind + " " + s.name];
    name = s.name;
    p.wall += s.path.wall, p.on_cpu += s.path.on_cpu, p.runnable += s.path.runnable, p.blocked += s.path.blocked;
    p.tasks.insert(s.path.tasks.begin(), s.path.tasks.end());
  }
  return out;
}

}  // namespace

std::vector<HotSpot> hot_spots(const Trace& a, const Trace& b, std::size_t top) {
  SchedTimeline ta(a.sched), tb(b.sched);
  std::vector<StepTime> sa = phase_times(a, ta), sb = phase_times(b, tb);
  std::vector<StepTime> ua = usdt_step_times(a, ta), ub = usdt_step_times(b, tb);
  if (!ua.empty() && !ub.empty()) {
    sa.insert(sa.end(), ua.begin(), ua.end());
    sb.insert(sb.end(), ub.begin(), ub.end());
  }
  auto na = by_name(sa), nb = by_name(sb);
  std::map<std::string, HotSpot> all;
  for (auto [from, side] : {std::pair{&na, &HotSpot::a}, std::pair{&nb, &HotSpot::b}})
    for (const auto& [key, v] : *from) {
      HotSpot& h = all[key];
      h.kind = key.substr(0, key.find(' '));
      h.name = v.first;
      h.*side = v.second;
    }
  std::vector<HotSpot> out;
  for (auto& [key, h] : all) out.push_back(std::move(h));
  std::stable_sort(out.begin(), out.end(), [](const HotSpot& x, const HotSpot& y) { return weight(x) > weight(y); });
  if (out.size() > top) out.resize(top);
  return out;
}

std::string hot_spots_text(const std::vector<HotSpot>& h, const std::string& name_a, const std::string& name_b) {
  auto ms = [](uint64_t ns) { return ns / 1e6; };
  auto d = [](uint64_t a, uint64_t b) { return delta(a, b) / 1e6; };
  std::string out = fmt::format("\nhot spots (critical path, ms: {} vs {}, largest wall or on-CPU difference first)\n",
                                name_a, name_b);
  for (const auto& x : h)
    out += fmt::format("hot {:<5} {:<22} wall {:8.3f} vs {:8.3f} ({:+.3f})  on-cpu {:7.3f} vs {:7.3f} ({:+.3f})  "
                       "runnable {:.3f} vs {:.3f}  blocked {:.3f} vs {:.3f}\n",
                       x.kind, x.name, ms(x.a.wall), ms(x.b.wall), d(x.a.wall, x.b.wall), ms(x.a.on_cpu),
                       ms(x.b.on_cpu), d(x.a.on_cpu, x.b.on_cpu), ms(x.a.runnable), ms(x.b.runnable),
                       ms(x.a.blocked), ms(x.b.blocked));
  return out;
}

}  // namespace glasstrace

#include "diff.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <unordered_map>
#include <cstdlib>
#include <map>

namespace glasstrace {

namespace {

struct Block {
  std::size_t i, j, k;  // x[i, i+k) == y[j, j+k)
};

// The longest block of x[alo, ahi) that is also in y[blo, bhi) (the first
// one, in x then y, when several are as long).
Block longest_match(const std::vector<std::string>& x,
                    const std::unordered_map<std::string, std::vector<std::size_t>>& y_at, std::size_t alo,
                    std::size_t ahi, std::size_t blo, std::size_t bhi) {
  Block best{alo, blo, 0};
  std::unordered_map<std::size_t, std::size_t> len;  // j -> length of the match ending at (i - 1, j)
  for (std::size_t i = alo; i < ahi; i++) {
    std::unordered_map<std::size_t, std::size_t> next;
    auto at = y_at.find(x[i]);
    if (at != y_at.end())
      for (std::size_t j : at->second) {
        if (j < blo) continue;
        if (j >= bhi) break;
        auto before = j > 0 ? len.find(j - 1) : len.end();
        std::size_t k = next[j] = (before != len.end() ? before->second : 0) + 1;
        if (k > best.k) best = {i - k + 1, j - k + 1, k};
      }
    len.swap(next);
  }
  return best;
}

}  // namespace

// Aligned as Python's difflib.SequenceMatcher (no junk) does: the longest
// common block first, then the same on each side of it. Unlike a plain LCS,
// which may pair a step with any equal step, a run of steps a runtime made
// elsewhere shows as that run moved, not as the steps around it.
std::vector<DiffLine> diff_milestones(const MilestoneList& a, const MilestoneList& b) {
  const auto& x = a.items;
  const auto& y = b.items;
  std::vector<std::string> xk, yk;
  for (const auto& m : x) xk.push_back(m.key());
  for (const auto& m : y) yk.push_back(m.key());
  std::unordered_map<std::string, std::vector<std::size_t>> y_at;
  for (std::size_t j = 0; j < yk.size(); j++) y_at[yk[j]].push_back(j);
  std::vector<Block> blocks;
  std::vector<std::array<std::size_t, 4>> todo{{0, xk.size(), 0, yk.size()}};
  while (!todo.empty()) {
    auto [alo, ahi, blo, bhi] = todo.back();
    todo.pop_back();
    Block m = longest_match(xk, y_at, alo, ahi, blo, bhi);
    if (m.k == 0) continue;
    blocks.push_back(m);
    if (alo < m.i && blo < m.j) todo.push_back({alo, m.i, blo, m.j});
    if (m.i + m.k < ahi && m.j + m.k < bhi) todo.push_back({m.i + m.k, ahi, m.j + m.k, bhi});
  }
  std::sort(blocks.begin(), blocks.end(), [](const Block& p, const Block& q) { return p.i < q.i; });
  blocks.push_back({x.size(), y.size(), 0});
  std::vector<DiffLine> out;
  std::size_t i = 0, j = 0;
  for (const auto& m : blocks) {
    for (; i < m.i; i++) out.push_back({DiffLine::OnlyA, &x[i], nullptr});
    for (; j < m.j; j++) out.push_back({DiffLine::OnlyB, nullptr, &y[j]});
    for (std::size_t n = 0; n < m.k; n++, i++, j++) out.push_back({DiffLine::Same, &x[i], &y[j]});
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

#include "compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <regex>

#include "diff.h"

namespace glasstrace {
namespace {

// What differs from run to run whatever the runtime does.
const std::vector<std::pair<std::regex, std::string>>& per_run_patterns() {
  static const std::vector<std::pair<std::regex, std::string>> p = {
      {std::regex(R"(\b(runc|crun)\.[A-Za-z0-9]{6}\b)"), "$1.<rand>"},  // mkstemp/mkdtemp suffixes
      {std::regex(R"(/proc/\d+/)"), "/proc/<pid>/"},
      {std::regex(R"(/proc/self/fd/\d+)"), "/proc/self/fd/<fd>"},
      {std::regex(R"(\bfd=\d+)"), "fd=<fd>"},
  };
  return p;
}

std::string norm_text(std::string s, const Substitutions& by_length) {
  for (const auto& [value, token] : by_length) {
    if (value.empty()) continue;
    for (std::size_t pos = 0; (pos = s.find(value, pos)) != std::string::npos; pos += token.size())
      s.replace(pos, value.size(), token);
  }
  for (const auto& [rx, rep] : per_run_patterns()) s = std::regex_replace(s, rx, rep);
  return s;
}

// A runtime's parent writes the child's pid to cgroup.procs while the child
// goes on with its own steps: how the writes interleave is a race. All
// cgroup.attach milestones of one file become one, at the first, counted.
std::vector<Milestone> gather_cgroup_attach(const std::vector<Milestone>& in) {
  std::vector<Milestone> out;
  std::map<std::string, std::size_t> first;
  for (const auto& m : in) {
    if (m.kind == "cgroup.attach") {
      auto [it, fresh] = first.emplace(m.detail, out.size());
      if (!fresh) {
        out[it->second].count += m.count;
        continue;
      }
    }
    out.push_back(m);
  }
  return out;
}

std::string cgroup_target(const Milestone& m) {
  static const std::string kPrefix = "/sys/fs/cgroup/";
  if (m.kind != "mount" || m.detail.rfind(kPrefix, 0) != 0) return "";
  return m.detail.substr(0, m.detail.find(' '));
}

// The order of the cgroup v1 controller mounts carries no meaning (it follows
// mountinfo or the runtime's own list): each run of them is sorted by target,
// stably, so bind stays before bind-remount.
void sort_cgroup_runs(std::vector<Milestone>& v) {
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    while (j < v.size() && !cgroup_target(v[j]).empty()) j++;
    std::stable_sort(v.begin() + i, v.begin() + j,
                     [](const Milestone& x, const Milestone& y) { return cgroup_target(x) < cgroup_target(y); });
    i = j == i ? i + 1 : j;
  }
}

// runc 1.1 drops the bounding set twice in a row: a run of capbset.drop whose
// second half repeats the first becomes the first half and one line saying
// so. Any other shape stays, so a missing or extra capability still shows.
std::vector<Milestone> fold_repeated_capbset(const std::vector<Milestone>& in) {
  std::vector<Milestone> out;
  for (std::size_t i = 0; i < in.size();) {
    std::size_t j = i;
    while (j < in.size() && in[j].kind == "capbset.drop") j++;
    if (j == i) {
      out.push_back(in[i++]);
      continue;
    }
    std::size_t half = (j - i) / 2;
    bool repeats = (j - i) % 2 == 0 && half > 0 &&
                   std::equal(in.begin() + i, in.begin() + i + half, in.begin() + i + half,
                              [](const Milestone& x, const Milestone& y) { return x.key() == y.key(); });
    out.insert(out.end(), in.begin() + i, in.begin() + (repeats ? i + half : j));
    if (repeats) {
      Milestone folded = in[i + half];
      folded.detail = fmt::format("<second pass repeating the {} drops above>", half);
      out.push_back(std::move(folded));
    }
    i = j;
  }
  return out;
}

}  // namespace

MilestoneList normalise_milestones(const MilestoneList& m, const Substitutions& subst) {
  Substitutions by_length = subst;  // a path is replaced before any prefix of it
  std::stable_sort(by_length.begin(), by_length.end(),
                   [](const auto& x, const auto& y) { return x.first.size() > y.first.size(); });
  MilestoneList out{m.rootfs, gather_cgroup_attach(m.items)};
  for (auto& x : out.items) {
    x.detail = norm_text(x.detail, by_length);
    if (x.kind == "exec") x.detail = x.detail.substr(0, x.detail.find('\n'));  // a script's first line says enough
    if (x.count > 1) x.detail += fmt::format(" (x{})", x.count);
    x.count = 1;
  }
  sort_cgroup_runs(out.items);
  out.items = fold_repeated_capbset(out.items);
  return out;
}

Comparison compare_milestones(const MilestoneList& a, const MilestoneList& b, const Substitutions& subst_a,
                              const Substitutions& subst_b) {
  Comparison c{normalise_milestones(a, subst_a), normalise_milestones(b, subst_b), {}, {}, {}};
  auto lines = diff_milestones(c.a, c.b);
  // A step only in A paired with the same step only in B is a move.
  std::map<std::string, int> only_a, only_b;
  for (const auto& l : lines) {
    if (l.op == DiffLine::OnlyA) only_a[l.a->key()]++;
    if (l.op == DiffLine::OnlyB) only_b[l.b->key()]++;
  }
  std::map<std::string, int> moves_a, moves_b;
  for (const auto& [k, n] : only_a) moves_a[k] = moves_b[k] = std::min(n, only_b.count(k) ? only_b[k] : 0);
  for (std::size_t i = 0; i < lines.size(); i++) {
    const auto& l = lines[i];
    c.lines_a.push_back(l.a ? l.a->key() : "");
    c.lines_b.push_back(l.b ? l.b->key() : "");
    if (l.op == DiffLine::Same) continue;
    bool in_a = l.op == DiffLine::OnlyA;
    std::string key = in_a ? l.a->key() : l.b->key();
    int& moves = (in_a ? moves_a : moves_b)[key];
    std::string change = moves > 0 ? "moved" : in_a ? "absent" : "extra";
    if (moves > 0) moves--;
    c.changes.push_back({(in_a ? "-" : "+") + key, change, i + 1});
  }
  return c;
}

Json comparison_json(const Comparison& c) {
  auto keys = [](const MilestoneList& m) {
    Json out = Json::array();
    for (const auto& x : m.items) out.push_back(x.key());
    return out;
  };
  auto or_null = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
  Json lines = Json::array(), changes = Json::array();
  for (std::size_t i = 0; i < c.lines_a.size(); i++)
    lines.push_back({{"step", i + 1}, {"a", or_null(c.lines_a[i])}, {"b", or_null(c.lines_b[i])}});
  for (const auto& x : c.changes) changes.push_back({{"key", x.key}, {"change", x.change}, {"step", x.step}});
  return {{"v", 1}, {"equal", c.changes.empty()}, {"a", keys(c.a)}, {"b", keys(c.b)},
          {"lines", lines}, {"changes", changes}};
}

}  // namespace glasstrace

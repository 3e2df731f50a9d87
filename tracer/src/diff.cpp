#include "diff.h"

#include <fmt/format.h>

#include <algorithm>

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

}  // namespace glasstrace

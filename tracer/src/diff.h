// Aligning two milestone sequences (difflib's longest-block matching) and
// showing them side by side.
#pragma once

#include <string>
#include <vector>

#include "critical_path.h"
#include "milestones.h"

namespace glasstrace {

struct DiffLine {
  enum Op { Same, OnlyA, OnlyB } op;
  const Milestone* a = nullptr;
  const Milestone* b = nullptr;
};

std::vector<DiffLine> diff_milestones(const MilestoneList& a, const MilestoneList& b);
bool has_differences(const std::vector<DiffLine>& d);
// "  left | right" lines; '-' only in A, '+' only in B.
std::string diff_text(const std::vector<DiffLine>& d, const std::string& name_a, const std::string& name_b);

// --- hot spots: where two traces' critical paths differ most ---------------
// Steps of the same kind and name (phases always; USDT steps when both
// traces have them), summed per name, ranked by the larger of |wall
// difference| and |on-CPU difference|.
struct HotSpot {
  std::string kind, name;
  PathTime a, b;  // zero where the step is missing from that trace
};
std::vector<HotSpot> hot_spots(const Trace& a, const Trace& b, std::size_t top);
// One line per hot spot, with a heading.
std::string hot_spots_text(const std::vector<HotSpot>& h, const std::string& name_a, const std::string& name_b);

}  // namespace glasstrace

// Aligning two milestone sequences (difflib's longest-block matching) and
// showing them side by side.
#pragma once

#include <string>
#include <vector>

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

}  // namespace glasstrace

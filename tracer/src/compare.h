// Comparing two runtimes' milestone sequences: normalised so that what is
// per run (paths, ids, pids, fds, random suffixes) or without meaning (the
// cgroup v1 controller order, runc's second bounding-set pass, how the
// parent's cgroup writes interleave with the child) does not count, aligned
// by diff_milestones, and each differing step classified. The conformance
// suite's syscall-order check is `glasstrace diff --changes` (docs/TRACER.md).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "milestones.h"
#include "trace_file.h"

namespace glasstrace {

// (value, token) pairs: each occurrence of value in a detail becomes token.
using Substitutions = std::vector<std::pair<std::string, std::string>>;

// The normalised milestones of one run; a count > 1 is part of the detail
// (" (xN)"), so the key says it.
MilestoneList normalise_milestones(const MilestoneList& m, const Substitutions& subst = {});

struct Change {
  std::string key;     // "-KIND DETAIL" only in A, "+KIND DETAIL" only in B
  std::string change;  // moved (on both sides, elsewhere), absent (only in A), extra (only in B)
  std::size_t step;    // 1-based line of the aligned sequence
};

struct Comparison {
  MilestoneList a, b;  // normalised
  std::vector<std::string> lines_a, lines_b;  // per aligned step: the key or "" (lines share the index)
  std::vector<Change> changes;
};

Comparison compare_milestones(const MilestoneList& a, const MilestoneList& b, const Substitutions& subst_a = {},
                              const Substitutions& subst_b = {});
// {"v":1,"equal","a":[keys],"b":[keys],"lines":[{"step","a","b"}],"changes":[{"key","change","step"}]}
Json comparison_json(const Comparison& c);

}  // namespace glasstrace

// process.rlimits: names ↔ RLIMIT_* numbers, and setting them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "spec/config.h"

namespace glassrun::rlimits {

std::optional<int> from_name(const std::string& name);
void apply(const std::vector<spec::Rlimit>& limits);

}  // namespace glassrun::rlimits

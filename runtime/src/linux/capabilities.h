// Process capabilities: names ↔ numbers, and applying the five sets.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "spec/config.h"

namespace glassrun::caps {

// "CAP_SYS_ADMIN" → 21; nullopt when this kernel/libcap does not know it.
std::optional<int> from_name(const std::string& name);
std::string to_name(int cap);
// runc's warning for the names the config parser skipped (spec::Capabilities
// ::unknown): "ignoring unknown or unavailable capabilities: [A B]", sorted.
void warn_unknown(const std::vector<std::string>& names);
// Highest capability the running kernel knows (its /proc/sys/kernel/cap_last_cap).
int last_cap();
// Whether the process is given cap in any of its five sets.
bool grants(const spec::Process& p, int cap);

// Drops every capability not in the bounding set (PR_CAPBSET_DROP).
void drop_bounding(const spec::Capabilities& c);
// Keeps capabilities across the setuid of the user switch (PR_SET_KEEPCAPS).
void keep_across_setuid();
// Sets effective/permitted/inheritable with capset, then the ambient set.
void apply_sets(const spec::Capabilities& c);

}  // namespace glassrun::caps

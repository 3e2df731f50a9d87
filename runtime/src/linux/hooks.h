// OCI hooks: run path with args and env, the container state JSON on stdin,
// killed at its timeout.
#pragma once

#include <string>
#include <vector>

#include "spec/config.h"

namespace glassrun::hooks {

// Runs each hook in order; throws Error("<kind> hook <i> (<path>): ...") on the
// first that fails.
void run_all(const char* kind, const std::vector<spec::Hook>& hooks, const std::string& state_json);

}  // namespace glassrun::hooks

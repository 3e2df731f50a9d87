// OCI hooks: run path with args and env, the container state JSON on stdin,
// killed at its timeout.
#pragma once

#include <string>
#include <vector>

#include "spec/config.h"

namespace glassrun::hooks {

// Runs each hook in order (with cwd as its working directory when not empty);
// throws Error("<kind> hook (<path>): error running hook #<i>: ...") on the
// first that fails (runc's phrase, which engines match on).
void run_all(const char* kind, const std::vector<spec::Hook>& hooks, const std::string& state_json,
             const std::string& cwd = {});

// For poststart and poststop: the runtime-spec says a failing hook is logged
// as a warning and the remaining hooks and the lifecycle go on as if it had
// succeeded.
void run_all_warning(const char* kind, const std::vector<spec::Hook>& hooks, const std::string& state_json);

}  // namespace glassrun::hooks

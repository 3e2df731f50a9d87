// runc's libcontainer view of a config (state.json "config"), so tools and
// the conformance suite can read glassrun's state.json as they read runc's.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "spec/config.h"

namespace glassrun::state {

nlohmann::json runc_config_view(const spec::Config& c, const std::string& id, bool no_pivot, bool no_new_keyring);

}  // namespace glassrun::state

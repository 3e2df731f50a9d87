// linux.resources.devices → the device rule list runc applies: the spec's
// rules in order, then runc's default allow list (appended last, so a spec
// cannot deny /dev/null & co.).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "linux/device_filter.h"

namespace glassrun::cgroups {

// runc's AllowedDevices (libcontainer/specconv), as its state.json shows them.
const std::vector<DeviceRule>& runc_default_device_rules();

// Throws naming the entry: "linux.resources.devices[2]: access cannot be empty".
std::vector<DeviceRule> device_rules_from_spec(const nlohmann::json& resources);

// v1 devices.allow / devices.deny line: "c 1:3 rwm", "a *:* rwm".
std::string v1_device_line(const DeviceRule& rule);

}  // namespace glassrun::cgroups

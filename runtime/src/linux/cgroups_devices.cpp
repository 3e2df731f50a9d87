#include "linux/cgroups_devices.h"

#include <fmt/format.h>

#include "util/error.h"

namespace glassrun::cgroups {
namespace {

DeviceRule parse_rule(const nlohmann::json& d) {
  if (!d.is_object()) fail("not an object");
  DeviceRule r;
  r.allow = d.value("allow", false);
  std::string type = d.value("type", std::string("a"));
  if (type.empty()) type = "a";
  if (type != "a" && type != "c" && type != "b") fail("invalid type \"{}\"", type);
  r.type = type[0];
  if (d.contains("major") && !d["major"].is_null()) r.major = d["major"].get<int64_t>();
  if (d.contains("minor") && !d["minor"].is_null()) r.minor = d["minor"].get<int64_t>();
  std::string access = d.value("access", std::string());
  if (access.empty()) fail("access cannot be empty");
  // As runc: any order and repeats of r, w, m; other letters are ignored
  // ("rwa" is "rw"). Nothing left is refused here (runc fails later, vaguely).
  r.access.clear();
  for (char c : {'r', 'w', 'm'})
    if (access.find(c) != std::string::npos) r.access += c;
  if (r.access.empty()) fail("invalid access \"{}\": none of r, w, m", access);
  return r;
}

}  // namespace

const std::vector<DeviceRule>& runc_default_device_rules() {
  static const std::vector<DeviceRule> rules = {
      {'c', -1, -1, "m", true},   {'b', -1, -1, "m", true},    {'c', 1, 3, "rwm", true},  // null
      {'c', 1, 8, "rwm", true},                                                           // random
      {'c', 1, 7, "rwm", true},                                                           // full
      {'c', 5, 0, "rwm", true},                                                           // tty
      {'c', 1, 5, "rwm", true},                                                           // zero
      {'c', 1, 9, "rwm", true},                                                           // urandom
      {'c', 136, -1, "rwm", true},                                                        // /dev/pts/*
      {'c', 5, 2, "rwm", true},                                                           // ptmx
      {'c', 10, 200, "rwm", true},                                                        // tun
  };
  return rules;
}

std::vector<DeviceRule> device_rules_from_spec(const nlohmann::json& resources) {
  std::vector<DeviceRule> rules;
  if (resources.is_object() && resources.contains("devices") && !resources["devices"].is_null()) {
    const auto& list = resources["devices"];
    if (!list.is_array()) fail("linux.resources.devices: not an array");
    for (size_t i = 0; i < list.size(); ++i) {
      try {
        rules.push_back(parse_rule(list[i]));
      } catch (const nlohmann::json::exception& e) {
        fail("linux.resources.devices[{}]: {}", i, e.what());
      } catch (const Error& e) {
        fail("linux.resources.devices[{}]: {}", i, e.what());
      }
    }
  }
  const auto& defaults = runc_default_device_rules();
  rules.insert(rules.end(), defaults.begin(), defaults.end());
  return rules;
}

std::string v1_device_line(const DeviceRule& rule) {
  auto num = [](int64_t n) { return n < 0 ? std::string("*") : std::to_string(n); };
  return fmt::format("{} {}:{} {}", rule.type, num(rule.major), num(rule.minor), rule.access);
}

}  // namespace glassrun::cgroups

// What cgroups.cpp (the factories) shares with the two layout managers.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "linux/cgroups.h"

namespace glassrun::cgroups {

std::unique_ptr<Manager> make_v1_manager(std::map<std::string, std::string> paths, std::vector<std::string> created,
                                         std::vector<std::string> roots = {});
std::unique_ptr<Manager> make_v2_manager(std::string path, std::vector<std::string> created);

// Removes created dirs deepest first. The container's own cgroups (leaves)
// go with any sub-cgroups made inside them, and failures there are errors;
// ancestors we made are removed only if nothing else lives in them now.
// On return `created` holds what is still there.
void remove_created(std::vector<std::string>& created, const std::vector<std::string>& leaves);

// runc `events --stats` data (cpu, cpuset, memory, pids, blkio, hugetlb) per
// layout, in the field order of runc's types.Stats.
nlohmann::ordered_json v1_stats(const std::map<std::string, std::string>& paths);
nlohmann::ordered_json v2_stats(const std::string& dir);

}  // namespace glassrun::cgroups

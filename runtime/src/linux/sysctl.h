// linux.sysctl: written under /proc/sys after the container's /proc is mounted.
#pragma once

#include <map>
#include <string>

namespace glassrun::sysctl {

void apply(const std::map<std::string, std::string>& values);

}  // namespace glassrun::sysctl

// Signal names ↔ numbers, as `kill` takes them: "TERM", "SIGTERM", "15".
#pragma once

#include <optional>
#include <string>

namespace glassrun::signals {

std::optional<int> parse(const std::string& text);
std::string name(int sig);

}  // namespace glassrun::signals

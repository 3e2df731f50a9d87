// Lexical path helpers (no filesystem access).
#pragma once

#include <string>

namespace glassrun::paths {

// Collapses "//", "." and ".." lexically; keeps a leading "/".
std::string clean(const std::string& p);
// Makes p absolute against the current directory, then cleans it.
std::string absolute(const std::string& p);
// True when p, taken relative to a root, climbs above it ("../x", "/a/../../b").
bool escapes_root(const std::string& p);
// root + "/" + p, cleaned, with p's ".." unable to leave root.
std::string join_in_root(const std::string& root, const std::string& p);

}  // namespace glassrun::paths

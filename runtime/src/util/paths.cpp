#include "util/paths.h"

#include <unistd.h>

#include <climits>
#include <vector>

namespace glassrun::paths {

namespace {
std::vector<std::string> split(const std::string& p, int* climbs_above) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string part = p.substr(i, j - i);
    if (part == "..") {
      if (parts.empty()) {
        if (climbs_above) ++*climbs_above;
      } else {
        parts.pop_back();
      }
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  return parts;
}

std::string join(const std::vector<std::string>& parts, bool absolute) {
  std::string out = absolute ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out.empty() ? "." : out;
}
}  // namespace

std::string clean(const std::string& p) {
  int climbs = 0;
  bool abs = !p.empty() && p[0] == '/';
  auto parts = split(p, &climbs);
  if (!abs)
    for (int i = 0; i < climbs; ++i) parts.insert(parts.begin(), "..");
  return join(parts, abs);
}

std::string absolute(const std::string& p) {
  if (!p.empty() && p[0] == '/') return clean(p);
  char buf[PATH_MAX];
  std::string cwd = getcwd(buf, sizeof buf) ? buf : "/";
  return clean(cwd + "/" + p);
}

bool escapes_root(const std::string& p) {
  int climbs = 0;
  split(p, &climbs);
  return climbs > 0;
}

std::string join_in_root(const std::string& root, const std::string& p) {
  auto parts = split(p, nullptr);
  std::string inner = join(parts, true);
  if (inner == "/") return clean(root);
  return clean(root + inner);
}

}  // namespace glassrun::paths

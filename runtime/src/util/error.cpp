#include "util/error.h"

#include <cctype>
#include <cstring>

namespace glassrun {

std::string errno_text(int err) {
  std::string s = strerror(err);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

void throw_sys(const std::string& what, int err) { throw Error(what + ": " + errno_text(err), err); }

}  // namespace glassrun

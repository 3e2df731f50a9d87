// C-style escaping for one-line quoted output: \" \\ \n \t \r, and \xNN for
// other control and non-ASCII bytes. Shared by glasstrace (strace-like
// strings) and glassrun's text log values.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace glassrun {

inline std::string c_escape(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c >= 0x7f) out += fmt::format("\\x{:02x}", c);
        else out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace glassrun

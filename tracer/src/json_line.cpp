#include "json_line.h"

#include <nlohmann/json.hpp>

namespace glasstrace {

void JsonLine::append_string(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) {
      // Non-ASCII: nlohmann validates the UTF-8 and replaces what is invalid;
      // rare in a trace, so its own code does it (the exact same bytes).
      text_ += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
    }
  text_ += '"';
  std::size_t plain = 0;  // start of the bytes not yet copied
  for (std::size_t i = 0; i < s.size(); i++) {
    unsigned char c = s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    text_.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': text_ += "\\\""; break;
      case '\\': text_ += "\\\\"; break;
      case '\b': text_ += "\\b"; break;
      case '\f': text_ += "\\f"; break;
      case '\n': text_ += "\\n"; break;
      case '\r': text_ += "\\r"; break;
      case '\t': text_ += "\\t"; break;
      default: fmt::format_to(std::back_inserter(text_), "\\u{:04x}", c);
    }
  }
  text_.append(s.data() + plain, s.size() - plain);
  text_ += '"';
}

}  // namespace glasstrace

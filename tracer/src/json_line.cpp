#include "json_line.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace glasstrace {

JsonLine::Text JsonLine::take() {
  need_comma_ = false;
  Text out = std::move(t_);
  if (!spare_.empty()) {
    t_ = std::move(spare_.back());
    spare_.pop_back();
  }
  return out;
}

void JsonLine::resume(Text text) {
  if (t_.cap_ && spare_.size() < kSpares) {
    t_.len_ = 0;
    spare_.push_back(std::move(t_));
  }
  t_ = std::move(text);
  char last = t_.len_ ? t_.buf_[t_.len_ - 1] : '{';
  need_comma_ = last != '{' && last != '[' && last != ':';
}

void JsonLine::grow(std::size_t need) {
  std::size_t cap = std::max<std::size_t>({need, t_.cap_ * 2, 512});
  auto buf = std::make_unique<char[]>(cap);
  if (t_.len_) std::memcpy(buf.get(), t_.buf_.get(), t_.len_);
  t_.buf_ = std::move(buf);
  t_.cap_ = cap;
}

namespace {
bool plain(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

// Whether any of the 8 bytes of w is not plain: a control byte, a byte
// >= 0x80, '"' or '\\' (bit tricks on the whole word: a path is mostly
// looked at 8 bytes at a time).
bool any_not_plain(uint64_t w) {
  constexpr uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  auto has_zero_byte = [](uint64_t v) { return (v - ones) & ~v & highs; };
  return ((w - 0x20 * ones) & ~w & highs) | (w & highs) | has_zero_byte(w ^ ('"' * ones)) |
         has_zero_byte(w ^ ('\\' * ones));
}

// Length of the plain bytes at the start of s.
std::size_t plain_prefix(std::string_view s) {
  std::size_t i = 0;
  for (uint64_t w; i + 8 <= s.size(); i += 8) {
    std::memcpy(&w, s.data() + i, 8);
    if (any_not_plain(w)) break;
  }
  while (i < s.size() && plain(static_cast<unsigned char>(s[i]))) i++;
  return i;
}
}  // namespace

void JsonLine::append_string(std::string_view s) {
  std::size_t i = plain_prefix(s);
  if (i == s.size()) {  // the usual case: nothing to escape
    char* p = room(s.size() + 2);
    *p = '"';
    std::memcpy(p + 1, s.data(), s.size());
    p[s.size() + 1] = '"';
    t_.len_ += s.size() + 2;
    return;
  }
  if (std::any_of(s.begin() + i, s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    // Non-ASCII: nlohmann validates the UTF-8 and replaces what is invalid;
    // rare in a trace, so its own code does it (the exact same bytes).
    std::string dumped =
        nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    put(dumped.data(), dumped.size());
    return;
  }
  put('"');
  std::size_t copied = 0;  // start of the bytes not yet copied
  for (; i < s.size(); i++) {
    unsigned char c = s[i];
    if (plain(c)) continue;
    put(s.data() + copied, i - copied);
    copied = i + 1;
    switch (c) {
      case '"': put("\\\"", 2); break;
      case '\\': put("\\\\", 2); break;
      case '\b': put("\\b", 2); break;
      case '\f': put("\\f", 2); break;
      case '\n': put("\\n", 2); break;
      case '\r': put("\\r", 2); break;
      case '\t': put("\\t", 2); break;
      default: {
        char u[6];
        fmt::format_to_n(u, sizeof u, "\\u{:04x}", c);
        put(u, sizeof u);
      }
    }
  }
  put(s.data() + copied, s.size() - copied);
  put('"');
}

}  // namespace glasstrace

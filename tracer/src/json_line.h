// Builds one JSON Lines record as text, exactly as nlohmann's
// dump(-1, ' ', false, replace) would print the same ordered object:
// no spaces, keys in insertion order, strings escaped the same way
// (invalid UTF-8 replaced by U+FFFD). The Recorder writes every event
// through it: formatting straight from the binary records costs a fraction
// of building a Json object per event and dumping it.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace glasstrace {

class JsonLine {
 public:
  void clear() { text_.clear(), need_comma_ = false; }
  const std::string& text() const { return text_; }
  std::string take() { need_comma_ = false; return std::move(text_); }
  // Continues a line taken earlier (an object or array left open).
  void resume(std::string text) {
    text_ = std::move(text);
    char last = text_.empty() ? '{' : text_.back();
    need_comma_ = last != '{' && last != '[' && last != ':';
  }

  JsonLine& begin_object() { return open('{'); }
  JsonLine& end_object() { return close('}'); }
  JsonLine& begin_array() { return open('['); }
  JsonLine& end_array() { return close(']'); }
  // A member's key; its value follows. Keys are the schema's own names
  // (ASCII identifiers): written as they are, no escaping.
  JsonLine& key(std::string_view k) {
    separate();
    text_ += '"';
    text_ += k;
    text_ += "\":";
    need_comma_ = false;
    return *this;
  }

  JsonLine& value(std::string_view s) { return separate(), append_string(s), done(); }
  JsonLine& value(const char* s) { return value(std::string_view(s)); }
  JsonLine& value(const std::string& s) { return value(std::string_view(s)); }
  JsonLine& value(bool b) { return separate(), text_ += b ? "true" : "false", done(); }
  JsonLine& value(std::nullptr_t) { return separate(), text_ += "null", done(); }
  template <class Int>
    requires std::is_integral_v<Int>
  JsonLine& value(Int v) {
    separate();
    if constexpr (std::is_signed_v<Int>) append(fmt::format_int(static_cast<long long>(v)));
    else append(fmt::format_int(static_cast<unsigned long long>(v)));
    return done();
  }
  // Already serialized JSON (e.g. a dumped Json object).
  JsonLine& raw(std::string_view json) { return separate(), text_ += json, done(); }

  template <class T>
  JsonLine& member(std::string_view k, const T& v) { return key(k).value(v); }

 private:
  JsonLine& open(char c) { return separate(), text_ += c, need_comma_ = false, *this; }
  JsonLine& close(char c) { return text_ += c, done(); }
  void separate() {
    if (need_comma_) text_ += ',';
  }
  JsonLine& done() { return need_comma_ = true, *this; }
  void append(const fmt::format_int& digits) { text_.append(digits.data(), digits.size()); }
  void append_string(std::string_view s);

  std::string text_;
  bool need_comma_ = false;
};

}  // namespace glasstrace

// Builds one JSON Lines record as text, exactly as nlohmann's
// dump(-1, ' ', false, replace) would print the same ordered object:
// no spaces, keys in insertion order, strings escaped the same way
// (invalid UTF-8 replaced by U+FFFD). The Recorder writes every event
// through it: formatting straight from the binary records costs a fraction
// of building a Json object per event and dumping it.
//
// The bytes go into a plain buffer, one capacity check per key or value
// (a session decodes ~600 records per container started): std::string's
// appends were most of the decoding time, a few bytes each.
#pragma once

#include <fmt/compile.h>
#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace glasstrace {

class JsonLine {
 public:
  // A line's bytes, taken to be resumed later.
  class Text {
   public:
    Text() = default;
    Text(Text&& o) noexcept : buf_(std::move(o.buf_)), len_(o.len_), cap_(o.cap_) { o.len_ = o.cap_ = 0; }
    Text& operator=(Text&& o) noexcept {
      buf_ = std::move(o.buf_), len_ = o.len_, cap_ = o.cap_;
      o.len_ = o.cap_ = 0;
      return *this;
    }
    std::string_view view() const { return {buf_.get(), len_}; }

   private:
    friend class JsonLine;
    std::unique_ptr<char[]> buf_;
    std::size_t len_ = 0, cap_ = 0;
  };

  void clear() { t_.len_ = 0, need_comma_ = false; }
  std::string_view text() const { return t_.view(); }
  // The line so far, to be resumed later (a syscall waiting for its exit).
  // Formatting goes on in a buffer a resume gave back: the buffers are
  // reused, not allocated and grown for every event.
  Text take();
  // Continues a line taken earlier (an object or array left open).
  void resume(Text text);

  JsonLine& begin_object() { return open('{'); }
  JsonLine& end_object() { return close('}'); }
  JsonLine& begin_array() { return open('['); }
  JsonLine& end_array() { return close(']'); }
  // A member's key; its value follows. Keys are the schema's own names
  // (ASCII identifiers): written as they are, no escaping.
  JsonLine& key(std::string_view k) { return key_bytes(k.data(), k.size()); }
  // A literal key: its length is known here, so the copy is inlined.
  template <std::size_t N>
  JsonLine& key(const char (&k)[N]) {
    return key_bytes(k, N - 1);
  }

  JsonLine& value(std::string_view s) { return separate(), append_string(s), done(); }
  JsonLine& value(const char* s) { return value(std::string_view(s)); }
  JsonLine& value(const std::string& s) { return value(std::string_view(s)); }
  JsonLine& value(bool b) { return separate(), b ? put("true", 4) : put("false", 5), done(); }
  JsonLine& value(std::nullptr_t) { return separate(), put("null", 4), done(); }
  template <class Int>
    requires std::is_integral_v<Int>
  JsonLine& value(Int v) {
    separate();
    char* p = room(kMaxDigits);  // formatted in place
    if constexpr (std::is_signed_v<Int>) t_.len_ = fmt::format_to(p, FMT_COMPILE("{}"), static_cast<long long>(v)) - t_.buf_.get();
    else t_.len_ = fmt::format_to(p, FMT_COMPILE("{}"), static_cast<unsigned long long>(v)) - t_.buf_.get();
    return done();
  }
  // Already serialized JSON (e.g. a dumped Json object).
  JsonLine& raw(std::string_view json) { return separate(), put(json.data(), json.size()), done(); }

  template <class T>
  JsonLine& member(std::string_view k, const T& v) { return key(k).value(v); }
  template <std::size_t N, class T>
  JsonLine& member(const char (&k)[N], const T& v) {
    return key(k).value(v);
  }

 private:
  JsonLine& open(char c) { return separate(), put(c), need_comma_ = false, *this; }
  JsonLine& close(char c) { return put(c), done(); }
  void separate() {
    if (need_comma_) put(',');
  }
  JsonLine& done() { return need_comma_ = true, *this; }
  [[gnu::always_inline]] JsonLine& key_bytes(const char* k, std::size_t n) {
    char* p = room(n + 4);
    char* start = p;
    if (need_comma_) *p++ = ',';
    *p++ = '"';
    std::memcpy(p, k, n);
    p += n;
    *p++ = '"';
    *p++ = ':';
    t_.len_ += p - start;
    need_comma_ = false;
    return *this;
  }
  static constexpr std::size_t kMaxDigits = 20;  // of a 64-bit integer, with a sign
  // Room for n more bytes at the end.
  char* room(std::size_t n) {
    if (t_.len_ + n > t_.cap_) grow(t_.len_ + n);
    return t_.buf_.get() + t_.len_;
  }
  void grow(std::size_t need);
  void put(char c) { *room(1) = c, t_.len_++; }
  void put(const char* s, std::size_t n) { std::memcpy(room(n), s, n), t_.len_ += n; }
  void append_string(std::string_view s);

  static constexpr std::size_t kSpares = 64;  // more only with as many syscalls in flight
  Text t_;
  std::vector<Text> spare_;
  bool need_comma_ = false;
};

}  // namespace glasstrace

// Writes trace events as JSON Lines, one object a line.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "record.h"

namespace glasstrace {

class JsonlWriter {
 public:
  explicit JsonlWriter(const std::string& path);  // throws TracerError-like runtime_error
  // Writes to `fd` (owned from now on), opened by someone else (a session
  // client); `name` is the file's name in error messages.
  JsonlWriter(int fd, const std::string& name);
  ~JsonlWriter();
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;
  void write(const Json& event);
  void write_line(std::string_view line);  // one event already formatted, without its newline
  // Writes `event` with one more field, `name`, whose value is known only
  // later: null for now, padded so that patch() can overwrite it in place.
  // Returns the value's offset, or -1 if the output cannot seek (a pipe).
  long write_with_pending(const Json& event, const std::string& name);
  // Puts `value` where write_with_pending left null (a no-op for -1).
  void patch(long offset, uint64_t value);
  void flush();
  // Flushes and closes; throws if the trace could not be written completely.
  void close();

 private:
  std::string path_;
  std::unique_ptr<char[]> buffer_;  // stdio's, outlives f_
  FILE* f_;
};

}  // namespace glasstrace

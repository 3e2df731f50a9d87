// Writes trace events as JSON Lines, one object a line.
#pragma once

#include <cstdio>
#include <string>

#include "record.h"

namespace glasstrace {

class JsonlWriter {
 public:
  explicit JsonlWriter(const std::string& path);  // throws TracerError-like runtime_error
  ~JsonlWriter();
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;
  void write(const Json& event);
  void flush();
  // Flushes and closes; throws if the trace could not be written completely.
  void close();

 private:
  std::string path_;
  FILE* f_;
};

}  // namespace glasstrace

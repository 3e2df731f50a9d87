#include "jsonl_writer.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace glasstrace {

JsonlWriter::JsonlWriter(const std::string& path) : path_(path), f_(fopen(path.c_str(), "we")) {
  if (!f_) throw std::runtime_error("cannot write " + path + ": " + strerror(errno));
}

JsonlWriter::~JsonlWriter() {
  if (f_) fclose(f_);
}

void JsonlWriter::write(const Json& event) {
  // Kernel strings need not be UTF-8: replace, never throw mid-trace.
  std::string line = event.dump(-1, ' ', false, Json::error_handler_t::replace);
  line += '\n';
  fwrite(line.data(), 1, line.size(), f_);
}

void JsonlWriter::flush() { fflush(f_); }

void JsonlWriter::close() {
  bool failed = ferror(f_) != 0;
  failed = fclose(f_) != 0 || failed;
  f_ = nullptr;
  if (failed) throw std::runtime_error("writing " + path_ + " failed: " + strerror(errno ? errno : EIO));
}

}  // namespace glasstrace

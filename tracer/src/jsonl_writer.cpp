#include "jsonl_writer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace glasstrace {
namespace {
constexpr size_t kBufferBytes = 256 << 10;
}

JsonlWriter::JsonlWriter(const std::string& path)
    : path_(path), buffer_(std::make_unique<char[]>(kBufferBytes)), f_(fopen(path.c_str(), "we")) {
  if (!f_) throw std::runtime_error("cannot write " + path + ": " + strerror(errno));
  // A loop of runs writes megabytes: one write(2) per 256 KiB instead of
  // per 4 KiB (stdio's default for a file; glibc ignores the size
  // without a buffer of ours).
  setvbuf(f_, buffer_.get(), _IOFBF, kBufferBytes);
}

JsonlWriter::JsonlWriter(int fd, const std::string& name)
    : path_(name), buffer_(std::make_unique<char[]>(kBufferBytes)), f_(fdopen(fd, "w")) {
  if (!f_) {
    int e = errno;
    ::close(fd);
    throw std::runtime_error("cannot write " + name + ": " + strerror(e));
  }
  setvbuf(f_, buffer_.get(), _IOFBF, kBufferBytes);  // as above: a session's traces too
}

JsonlWriter::~JsonlWriter() {
  if (f_) fclose(f_);
}

void JsonlWriter::write(const Json& event) {
  // Kernel strings need not be UTF-8: replace, never throw mid-trace.
  write_line(event.dump(-1, ' ', false, Json::error_handler_t::replace));
}

void JsonlWriter::write_line(std::string_view line) {
  fwrite(line.data(), 1, line.size(), f_);
  fputc('\n', f_);
}

namespace {
constexpr int kPendingWidth = 20;  // digits of the largest u64
}

long JsonlWriter::write_with_pending(const Json& event, const std::string& name) {
  std::string line = event.dump(-1, ' ', false, Json::error_handler_t::replace);
  line.pop_back();  // the closing brace
  line += fmt::format(",{}:", Json(name).dump());
  long start = ftell(f_);
  long offset = start < 0 ? -1 : start + static_cast<long>(line.size());
  line += fmt::format("{:>{}}}}\n", "null", kPendingWidth);
  fwrite(line.data(), 1, line.size(), f_);
  return offset;
}

void JsonlWriter::patch(long offset, uint64_t value) {
  if (offset < 0) return;
  std::string text = fmt::format("{:>{}}", value, kPendingWidth);
  fflush(f_);
  if (pwrite(fileno(f_), text.data(), text.size(), offset) != static_cast<ssize_t>(text.size()))
    throw std::runtime_error("writing " + path_ + " failed: " + strerror(errno ? errno : EIO));
}

void JsonlWriter::flush() { fflush(f_); }

void JsonlWriter::close() {
  bool failed = ferror(f_) != 0;
  failed = fclose(f_) != 0 || failed;
  f_ = nullptr;
  if (failed) throw std::runtime_error("writing " + path_ + " failed: " + strerror(errno ? errno : EIO));
}

}  // namespace glasstrace

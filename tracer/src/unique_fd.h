// Owns one file descriptor; closes it when it goes out of scope.
#pragma once

#include <unistd.h>

namespace glasstrace {

struct UniqueFd {
  int fd = -1;
  UniqueFd() = default;
  explicit UniqueFd(int f) : fd(f) {}
  ~UniqueFd() { reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  void reset() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

}  // namespace glasstrace

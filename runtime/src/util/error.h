// One error type for the whole runtime. An Error carries its context as a
// chain of prefixes ("create: init: mount proc on /proc (rootfs /b/rootfs)")
// and the errno when a syscall failed; main() is the one place that prints it.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace glassrun {

class Error : public std::runtime_error {
 public:
  explicit Error(std::string msg, int err = 0) : std::runtime_error(std::move(msg)), errno_(err) {}
  int sys_errno() const { return errno_; }

 private:
  int errno_;
};

// errno → lower-case text as runc prints it ("operation not permitted").
std::string errno_text(int err);

// Throws Error("<what>: <strerror>") with errno kept.
[[noreturn]] void throw_sys(const std::string& what, int err = errno);

// Throws Error(fmt::format(...)).
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

// Runs fn; an Error escaping it gets "<context>: " put in front.
template <typename Fn>
decltype(auto) with_context(const std::string& context, Fn&& fn) {
  try {
    return fn();
  } catch (const Error& e) {
    throw Error(context + ": " + e.what(), e.sys_errno());
  }
}

}  // namespace glassrun

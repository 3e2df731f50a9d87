// Undo actions run in reverse order unless the operation succeeded: a failed
// create leaves no state directory, cgroup, fifo or process behind.
#pragma once

#include <functional>
#include <vector>

namespace glassrun {

class Cleanup {
 public:
  Cleanup() = default;
  Cleanup(const Cleanup&) = delete;
  Cleanup& operator=(const Cleanup&) = delete;
  ~Cleanup() {
    if (armed_)
      for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) try {
          (*it)();
        } catch (...) {
        }
  }
  void add(std::function<void()> f) { undo_.push_back(std::move(f)); }
  void disarm() { armed_ = false; }

 private:
  std::vector<std::function<void()>> undo_;
  bool armed_ = true;
};

}  // namespace glassrun

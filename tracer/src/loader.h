// Owns the BPF side: open, load, fill the capture plan, attach, follow pids,
// poll the ring buffer into a Recorder, read the drop counter.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "record.h"

struct glasstrace_bpf;
struct ring_buffer;

namespace glasstrace {

// One-line, user-facing failure (printed as "glasstrace: <what>").
struct TracerError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Tracer {
 public:
  explicit Tracer(bool verbose);  // open + load; throws TracerError
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  void follow(uint32_t tgid);
  void attach();  // the five raw_tp programs
  // USDT step probes of glassrun in `binary`; returns false (with reason) if none attached.
  bool attach_usdt(const std::string& binary, std::string* why);
  // Feeds records to `rec`; returns the number consumed or throws.
  int poll(Recorder& rec, int timeout_ms);
  // Unmaps the ring buffer (after the last poll), so that forking later does
  // not copy its page tables.
  void stop_polling();
  uint64_t dropped() const;
  // How long loading (verifying) the programs took, for GLASSTRACE_TIMING.
  uint64_t load_ns() const { return load_ns_; }

 private:
  void fill_capture_plan();
  struct glasstrace_bpf* skel_ = nullptr;
  struct ring_buffer* rb_ = nullptr;
  Recorder* current_ = nullptr;
  uint64_t load_ns_ = 0;
};

}  // namespace glasstrace

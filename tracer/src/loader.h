// Owns the BPF side: open, load, fill the capture plan, attach, follow pids,
// poll the ring buffer into a Recorder, read the drop counter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "record.h"

struct glasstrace_bpf;
struct glasstrace_sched_bpf;
struct gt_sched;
struct ring_buffer;
struct bpf_link;

namespace glasstrace {

// One-line, user-facing failure (printed as "glasstrace: <what>").
struct TracerError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Tracer {
 public:
  // open + load; throws TracerError. `sched`: also the scheduler programs
  // (sched.bpf.c), whose records go to on_sched.
  explicit Tracer(bool verbose, bool sched = false);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  void follow(uint32_t tgid);
  // Stops following a thread group (a session's client that went away).
  void unfollow(uint32_t tgid);
  // Follows nothing any more: also thread groups user space never heard
  // of (their fork records lost), which a pid reused later would inherit.
  void unfollow_all();
  // The five raw_tp programs, and the scheduler's three if loaded and
  // `sched`; those already attached stay as they are.
  void attach(bool sched = true);
  // Detaches them (not the USDT probes): while detached, no task on the
  // machine runs any of them, and the syscall tracepoints are off.
  void detach();
  bool attached() const;  // the syscall programs are
  // USDT step probes of glassrun in `binary`; returns false (with reason) if none attached.
  bool attach_usdt(const std::string& binary, std::string* why);
  // Unregisters every USDT probe attached: their sites no longer trap, in
  // any process (a registration later waits for an RCU grace period).
  void detach_usdt();
  // Feeds records to `rec`; returns the number consumed or throws.
  int poll(Recorder& rec, int timeout_ms);
  // A session daemon routes raw records itself: `sink` gets every record
  // of the syscall ring buffer (set once, before the first poll).
  using RecordSink = std::function<void(const void* data, std::size_t size)>;
  void set_record_sink(RecordSink sink);
  int poll(int timeout_ms);
  // Readable when records wait (the ring buffers' epoll fd), after set_record_sink.
  int ring_fd() const;
  // Unmaps the ring buffer (after the last poll), so that forking later does
  // not copy its page tables.
  void stop_polling();
  uint64_t dropped() const;
  // How long loading (verifying) the programs took, for GLASSTRACE_TIMING.
  uint64_t load_ns() const { return load_ns_; }
  // Scheduler records, polled with the events (set before the first poll).
  std::function<void(const gt_sched&)> on_sched;
  bool sched_enabled() const { return sched_ != nullptr; }
  uint64_t sched_dropped() const;

 private:
  void fill_capture_plan();
  void new_follow_epoch();  // after unfollowing: no task's note of being followed holds
  void load_sched(const char* btf_custom_path);
  struct glasstrace_bpf* skel_ = nullptr;
  struct glasstrace_sched_bpf* sched_ = nullptr;
  struct ring_buffer* rb_ = nullptr;
  std::vector<struct bpf_link*> usdt_links_;
  RecordSink sink_;
  uint64_t load_ns_ = 0;
};

}  // namespace glasstrace

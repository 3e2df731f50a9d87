// Turns the BPF side's binary records into trace events (JSON objects of
// schema v1): pairs syscall enter with exit per thread, names and decodes
// arguments, and attaches clone flags to fork events.
#pragma once

#include <linux/types.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <unordered_map>

struct gt_sys_enter;
struct gt_header;

namespace glasstrace {

using Json = nlohmann::ordered_json;
using EventSink = std::function<void(const Json&)>;

class Recorder {
 public:
  explicit Recorder(EventSink sink) : sink_(std::move(sink)) {}

  // One ring-buffer record. Returns false if it is malformed.
  bool on_record(const void* data, std::size_t size);
  // Emits syscalls still waiting for their exit as incomplete.
  void finish();

  uint64_t events() const { return events_; }
  uint64_t syscalls() const { return syscalls_; }
  uint64_t unpaired_exits() const { return unpaired_exits_; }
  // Thread-group ids seen to start / fully exit (the tree's liveness).
  std::function<void(uint32_t pid)> on_process_start, on_process_gone;

 private:
  struct Pending {
    Json event;
    int64_t nr;
    uint64_t ts;
  };
  void emit(const Json& e);
  void on_enter(const gt_sys_enter& e, std::size_t size);
  void on_exit_of_syscall(const void* data);
  void on_fork(const void* data);
  void on_exec(const void* data);
  void on_task_exit(const void* data);
  void on_step(const void* data);
  void flush_incomplete(uint32_t tid);
  Json entryless_syscall(const gt_header& h, int64_t nr, const __u64* args);

  EventSink sink_;
  std::unordered_map<uint32_t, Pending> pending_;  // by tid
  uint64_t events_ = 0, syscalls_ = 0, unpaired_exits_ = 0;
};

// Fields common to every BPF-sourced event ("ts", "pid", ... "comm").
Json task_fields(const gt_header& h);
// The "decoded" object for a syscall enter record (payload may be absent).
Json decode_args(const gt_sys_enter& e, std::size_t size);

}  // namespace glasstrace

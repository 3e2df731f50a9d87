// Turns the BPF side's binary records into trace events (JSON Lines of
// schema v1, formatted straight from the records): pairs syscall enter with
// exit per thread, names and decodes arguments, and attaches clone flags to
// fork events.
#pragma once

#include <linux/types.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "events.h"
#include "json_line.h"

namespace glasstrace {

using Json = nlohmann::ordered_json;
// One event: a line of JSON (no newline), valid until the sink returns.
using EventSink = std::function<void(std::string_view line)>;

// write_task_fields for a stream of records: the members that stay the
// same for a task (all but "ts") are formatted once per task and copied
// after that, ~20 % of decoding a syscall (bench/micro trace_bench).
class TaskFieldsCache {
 public:
  void write(JsonLine& out, const gt_header& h, std::string_view type);

 private:
  struct Entry {
    gt_task key{};  // ts zeroed
    std::string tail;
    bool used = false;
  };
  std::array<Entry, 16> entries_;  // by tid: the tasks recording at once
  JsonLine scratch_;
};

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
  // BPF records decoded (a syscall recorded at its exit is one, else two).
  uint64_t records() const { return records_; }
  // Thread-group ids seen to start / fully exit (the tree's liveness).
  std::function<void(uint32_t pid)> on_process_start, on_process_gone;

 private:
  struct Pending {
    JsonLine::Text line;  // the event up to its "decoded" object, left open
    int64_t nr;
    uint64_t ts;
    uint64_t arg0;                        // clone's flags
    std::optional<uint64_t> clone3_flags;  // clone3's, when its args were copied
  };
  void emit();  // line_
  void on_enter(const gt_sys_enter& e, std::size_t size);
  void on_exit_of_syscall(const void* data);
  void on_whole_syscall(const gt_sys_enter& e, std::size_t size);  // GT_SYSCALL
  void finish_returned(int64_t ret, uint64_t dur_ns);  // a syscall line's end, after "decoded"
  void on_fork(const void* data);
  void on_exec(const void* data);
  void on_task_exit(const void* data);
  void on_step(const void* data);
  void flush_incomplete(uint32_t tid);
  // A syscall without its enter record: `ret` from an error exit, or none.
  void emit_entryless_syscall(const gt_header& h, int64_t nr, const __u64* args, std::optional<int64_t> ret);

  JsonLine line_;  // the event being formatted
  TaskFieldsCache tasks_;  // of syscall events
  EventSink sink_;
  std::unordered_map<uint32_t, Pending> pending_;  // by tid
  bool decode(const void* data, std::size_t size);
  uint64_t events_ = 0, syscalls_ = 0, unpaired_exits_ = 0, records_ = 0;
};

// Fields common to every BPF-sourced event ("v", "type", "ts", "pid", ...
// "cgroup"), as members of the open object in `out`.
void write_task_fields(JsonLine& out, const gt_header& h, std::string_view type);
Json task_fields(const gt_header& h);  // the same as an object, "type" empty
// The "decoded" object's members for a syscall enter record (payload may be absent).
void write_decoded_args(JsonLine& out, const gt_sys_enter& e, std::size_t size);
Json decode_args(const gt_sys_enter& e, std::size_t size);  // the same as an object

}  // namespace glasstrace

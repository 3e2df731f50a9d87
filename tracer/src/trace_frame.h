// The records that frame every recorded trace, whether glasstrace loads its
// own programs or a session daemon records it: meta first (its "dropped"
// is known only at the end and patched in), summary last.
#pragma once

#include <time.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jsonl_writer.h"
#include "record.h"

namespace glasstrace {

uint64_t clock_ns(clockid_t clock);

struct TraceStart {
  std::vector<std::string> command;  // empty: attached to a pid
  std::optional<uint32_t> attach_pid;
  uint32_t root_pid = 0;
  std::vector<std::string> usdt;  // binaries whose step probes are attached
};

struct TraceEnd {
  const Recorder& rec;
  uint64_t sched_written = 0;
  uint64_t dropped = 0;
  std::optional<int> exit_status;
  std::optional<uint64_t> sched_dropped;  // set when scheduler records were taken
};

class TraceFrame {
 public:
  // Writes the meta record.
  TraceFrame(JsonlWriter& out, const TraceStart& start);
  // Writes the summary, puts "dropped" into meta, closes `out`; throws
  // std::runtime_error if the trace could not be written.
  void finish(const TraceEnd& end);

 private:
  JsonlWriter& out_;
  uint64_t start_mono_;
  long dropped_at_;
};

}  // namespace glasstrace
